/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints of the FusionD framework (events/fusiond/ in tracefs): where
 * each request goes, how it comes back, and what a failover moves.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM fusiond

#if !defined(_FUSIOND_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _FUSIOND_TRACE_H

#include <linux/tracepoint.h>
#include <linux/fusiond.h>

/* A request handed to a member's queue. */
TRACE_EVENT(fusiond_submit,
	    TP_PROTO(const char *agg, const char *member,
		     const struct fusiond_req *req),
	    TP_ARGS(agg, member, req),
	    TP_STRUCT__entry(__string(agg, agg)
			     __string(member, member)
			     __field(u16, agg_queue)
			     __field(u16, member_queue)
			     __field(u16, head)
			     __field(u16, nsegs)
			     __field(u32, requeues)),
	    TP_fast_assign(__assign_str(agg, agg);
			   __assign_str(member, member);
			   __entry->agg_queue = req->agg_queue;
			   __entry->member_queue = req->member_queue;
			   __entry->head = req->head;
			   __entry->nsegs = req->nsegs;
			   __entry->requeues = req->requeues;),
	    TP_printk("%s: queue %u -> %s queue %u head %u segs %u requeues %u",
		      __get_str(agg), __entry->agg_queue, __get_str(member),
		      __entry->member_queue, __entry->head, __entry->nsegs,
		      __entry->requeues)
);

/* A member completed a request. */
TRACE_EVENT(fusiond_complete,
	    TP_PROTO(const char *agg, const char *member,
		     const struct fusiond_req *req),
	    TP_ARGS(agg, member, req),
	    TP_STRUCT__entry(__string(agg, agg)
			     __string(member, member)
			     __field(u16, agg_queue)
			     __field(u16, head)
			     __field(u32, used_len)),
	    TP_fast_assign(__assign_str(agg, agg);
			   __assign_str(member, member);
			   __entry->agg_queue = req->agg_queue;
			   __entry->head = req->head;
			   __entry->used_len = req->used_len;),
	    TP_printk("%s: queue %u head %u done by %s, %u bytes written",
		      __get_str(agg), __entry->agg_queue, __entry->head,
		      __get_str(member), __entry->used_len)
);

/* A request failed back to the guest: no member could carry it. */
TRACE_EVENT(fusiond_fail_request,
	    TP_PROTO(const char *agg, const struct fusiond_req *req, int status),
	    TP_ARGS(agg, req, status),
	    TP_STRUCT__entry(__string(agg, agg)
			     __field(u16, agg_queue)
			     __field(u16, head)
			     __field(int, status)),
	    TP_fast_assign(__assign_str(agg, agg);
			   __entry->agg_queue = req->agg_queue;
			   __entry->head = req->head;
			   __entry->status = status;),
	    TP_printk("%s: queue %u head %u failed: %d",
		      __get_str(agg), __entry->agg_queue, __entry->head,
		      __entry->status)
);

/* A member was fenced; @requeued requests moved on, @active carries now. */
TRACE_EVENT(fusiond_member_failed,
	    TP_PROTO(const char *agg, const char *member, unsigned int requeued,
		     const char *active),
	    TP_ARGS(agg, member, requeued, active),
	    TP_STRUCT__entry(__string(agg, agg)
			     __string(member, member)
			     __field(unsigned int, requeued)
			     __string(active, active)),
	    TP_fast_assign(__assign_str(agg, agg);
			   __assign_str(member, member);
			   __entry->requeued = requeued;
			   __assign_str(active, active);),
	    TP_printk("%s: member %s fenced, %u requests requeued, active %s",
		      __get_str(agg), __get_str(member), __entry->requeued,
		      __get_str(active))
);

#endif /* _FUSIOND_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
