/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause */
/*
 * vdpa_migrate: live migration extensions of the vhost-vdpa uAPI, served
 * by /dev/vdpa-mig-N (drivers/vhost/vdpa_migrate).
 *
 * Three parts, described in Documentation/userspace-api/vdpa_migrate.rst:
 *
 *  - a migration state machine (RUNNING, STOPPED, SAVING, RESUMING, ERROR);
 *  - the device state: a versioned, self-describing, little-endian blob of
 *    typed records that the source reads in SAVING and the destination
 *    writes in RESUMING;
 *  - dirty page logging keyed by (address space, IOVA): the device's own
 *    writes into driver memory, reported as a bitmap per range.
 *
 * Every ioctl argument starts with @argsz (the size userspace passes, at
 * least the size of the structure as of this version) and @flags; fields
 * and flag bits not defined here must be zero, or the ioctl fails with
 * EINVAL.  The ioctl numbers sit in the vhost space (VHOST_VIRTIO, 0xAF)
 * away from both upstream vhost-vdpa (0x70..0x82) and openEuler's
 * migration ioctls (0xb0..0xb3).
 */
#ifndef _UAPI_LINUX_VDPA_MIGRATE_H
#define _UAPI_LINUX_VDPA_MIGRATE_H

#include <linux/types.h>
#include <linux/vhost.h>

/* ---------------------------------------------------------------------- */
/* Capabilities and the migration state machine                           */
/* ---------------------------------------------------------------------- */

/* Device state (VDPA_MIG_GET/SET_DEVICE_STATE) is supported. */
#define VDPA_MIG_CAP_STATE		(1U << 0)
/* The parent saves device-type records (net MAC table, blk cache...). */
#define VDPA_MIG_CAP_TYPE_STATE		(1U << 1)
/* The parent saves requests it took but did not complete. */
#define VDPA_MIG_CAP_INFLIGHT		(1U << 2)
/* Dirty page logging (VDPA_MIG_LOG_*) is supported. */
#define VDPA_MIG_CAP_DIRTY_LOG		(1U << 3)

/* Migration states; see the arcs in the documentation. */
#define VDPA_MIG_STATE_ERROR		0
#define VDPA_MIG_STATE_RUNNING		1
#define VDPA_MIG_STATE_STOPPED		2
#define VDPA_MIG_STATE_SAVING		3
#define VDPA_MIG_STATE_RESUMING		4

/**
 * struct vdpa_mig_info - VDPA_MIG_GET_INFO
 * @argsz: in: size of the structure userspace passes
 * @flags: in: 0
 * @caps: out: VDPA_MIG_CAP_* of this device
 * @state: out: current VDPA_MIG_STATE_*
 * @format_major: out: major version of the state format written
 * @format_minor: out: minor version of the state format written
 * @state_size: out: upper bound of the device state blob, in bytes, for
 *	the device as it is now (it may grow with negotiated features)
 * @log_page_sizes: out: page sizes dirty logging accepts: bit n set means
 *	2^n bytes
 * @log_max_bytes: out: most bytes of IOVA one address space may log
 * @nr_as: out: number of address spaces (as VHOST_VDPA_GET_AS_NUM)
 * @reserved: out: 0
 */
struct vdpa_mig_info {
	__u32 argsz;
	__u32 flags;
	__u32 caps;
	__u32 state;
	__u32 format_major;
	__u32 format_minor;
	__u64 state_size;
	__u64 log_page_sizes;
	__u64 log_max_bytes;
	__u32 nr_as;
	__u32 reserved;
};

/**
 * struct vdpa_mig_set_state - VDPA_MIG_SET_STATE
 * @argsz: in: size of the structure userspace passes
 * @flags: in: 0
 * @state: in: VDPA_MIG_STATE_* to go to; out: the state the device is in
 *	after the call (on failure: where the rollback left it)
 * @reserved: in: 0
 */
struct vdpa_mig_set_state {
	__u32 argsz;
	__u32 flags;
	__u32 state;
	__u32 reserved;
};

/**
 * struct vdpa_mig_state_buf - VDPA_MIG_GET_DEVICE_STATE and
 *	VDPA_MIG_SET_DEVICE_STATE
 * @argsz: in: size of the structure userspace passes
 * @flags: in: 0
 * @size: GET: in: bytes at @data; out: bytes written, or on ENOSPC the
 *	bytes needed.  SET: in: bytes of the blob at @data.
 * @data: user address of the blob
 * @reserved: in: 0
 */
struct vdpa_mig_state_buf {
	__u32 argsz;
	__u32 flags;
	__u64 size;
	__u64 data;
	__u64 reserved;
};

/* ---------------------------------------------------------------------- */
/* Dirty page logging                                                      */
/* ---------------------------------------------------------------------- */

/**
 * struct vdpa_mig_log_range - one range of IOVA to log
 * @iova: first byte; a multiple of the log page size
 * @size: bytes; a non-zero multiple of the log page size
 */
struct vdpa_mig_log_range {
	__u64 iova;
	__u64 size;
};

/* Most ranges one VDPA_MIG_LOG_START may carry. */
#define VDPA_MIG_LOG_MAX_RANGES		64

/**
 * struct vdpa_mig_log_start - VDPA_MIG_LOG_START
 * @argsz: in: size of the structure userspace passes
 * @flags: in: 0
 * @asid: in: address space whose IOVAs are logged
 * @page_shift: in: log2 of the page size, one of info.log_page_sizes
 * @nr_ranges: in: 1..VDPA_MIG_LOG_MAX_RANGES
 * @reserved: in: 0
 * @ranges: in: user address of @nr_ranges struct vdpa_mig_log_range,
 *	sorted, not overlapping, inside the device's IOVA range; they need
 *	not be mapped (the log covers IOVA, whatever is mapped there)
 */
struct vdpa_mig_log_start {
	__u32 argsz;
	__u32 flags;
	__u32 asid;
	__u32 page_shift;
	__u32 nr_ranges;
	__u32 reserved;
	__u64 ranges;
};

/**
 * struct vdpa_mig_log_sync - VDPA_MIG_LOG_SYNC
 * @argsz: in: size of the structure userspace passes
 * @flags: in: 0
 * @asid: in: address space, logging started on it
 * @reserved: in: 0
 * @iova: in: first byte reported, page aligned, inside one logged range
 * @size: in: bytes reported, page multiple, inside the same range
 * @bitmap: in: user address of a bitmap of DIV_ROUND_UP(@size / page
 *	size, 64) __u64 words; bit n of word w (little-endian order of words
 *	and bits) stands for the page at @iova + (64 * w + n) * page size.
 *	The kernel ORs the dirty bits in and writes only words holding one;
 *	the pages it reports are clean again in the kernel's log.
 * @dirty: out: number of pages reported by this call
 */
struct vdpa_mig_log_sync {
	__u32 argsz;
	__u32 flags;
	__u32 asid;
	__u32 reserved;
	__u64 iova;
	__u64 size;
	__u64 bitmap;
	__u64 dirty;
};

/**
 * struct vdpa_mig_log_stop - VDPA_MIG_LOG_STOP
 * @argsz: in: size of the structure userspace passes
 * @flags: in: 0
 * @asid: in: address space, logging started on it
 * @reserved: in: 0
 */
struct vdpa_mig_log_stop {
	__u32 argsz;
	__u32 flags;
	__u32 asid;
	__u32 reserved;
};

#define VDPA_MIG_GET_INFO	  _IOWR(VHOST_VIRTIO, 0xC0, struct vdpa_mig_info)
#define VDPA_MIG_SET_STATE	  _IOWR(VHOST_VIRTIO, 0xC1, struct vdpa_mig_set_state)
#define VDPA_MIG_GET_DEVICE_STATE _IOWR(VHOST_VIRTIO, 0xC2, struct vdpa_mig_state_buf)
#define VDPA_MIG_SET_DEVICE_STATE _IOW(VHOST_VIRTIO, 0xC3, struct vdpa_mig_state_buf)
#define VDPA_MIG_LOG_START	  _IOW(VHOST_VIRTIO, 0xC4, struct vdpa_mig_log_start)
#define VDPA_MIG_LOG_SYNC	  _IOWR(VHOST_VIRTIO, 0xC5, struct vdpa_mig_log_sync)
#define VDPA_MIG_LOG_STOP	  _IOW(VHOST_VIRTIO, 0xC6, struct vdpa_mig_log_stop)

/* ---------------------------------------------------------------------- */
/* The device state format                                                 */
/* ---------------------------------------------------------------------- */

/*
 * A blob is a struct vdpa_mig_blob_hdr followed by records, each a struct
 * vdpa_mig_rec_hdr and @len payload bytes padded with zeroes to a multiple
 * of 8.  All integers are little-endian.  The records of a blob come in
 * this order: FEATURES, STATUS, CONFIG, then per virtqueue in index order
 * VQ and (if any) VQ_INFLIGHT, then device-type records.
 *
 * Version policy: the major version changes only when a reader of the old
 * format would misread the new one; a reader rejects another major version
 * (EPROTONOSUPPORT).  Minor versions add record types or append fields to
 * the end of a payload: a reader takes the fields it knows from a longer
 * payload, and a payload shorter than the size its record type first had
 * is malformed.
 * A reader skips records it does not know unless VDPA_MIG_REC_F_MANDATORY
 * is set, in which case it rejects the blob (EOPNOTSUPP): a writer sets
 * that bit on every record without which the device would misbehave.
 */
#define VDPA_MIG_MAGIC			0x47494d56	/* "VMIG" */
#define VDPA_MIG_FORMAT_MAJOR		1
#define VDPA_MIG_FORMAT_MINOR		1	/* 1: VDPA_MIG_REC_NET_OFFLOADS */

/**
 * struct vdpa_mig_blob_hdr - start of a device state blob
 * @magic: VDPA_MIG_MAGIC
 * @major: VDPA_MIG_FORMAT_MAJOR of the writer
 * @minor: VDPA_MIG_FORMAT_MINOR of the writer
 * @device_id: virtio device ID
 * @nr_vqs: number of virtqueues of the device
 * @nr_records: records following this header
 * @total_len: bytes of the whole blob, this header included
 * @reserved: 0
 */
struct vdpa_mig_blob_hdr {
	__le32 magic;
	__le32 major;
	__le32 minor;
	__le32 device_id;
	__le32 nr_vqs;
	__le32 nr_records;
	__le64 total_len;
	__le64 reserved;
};

/* The reader must understand this record or reject the blob. */
#define VDPA_MIG_REC_F_MANDATORY	(1U << 0)

/**
 * struct vdpa_mig_rec_hdr - start of a record
 * @type: VDPA_MIG_REC_*
 * @flags: VDPA_MIG_REC_F_*
 * @len: payload bytes following this header, padding excluded
 * @reserved: 0
 */
struct vdpa_mig_rec_hdr {
	__le32 type;
	__le32 flags;
	__le32 len;
	__le32 reserved;
};

/* Record types 0x0001..0x00ff: every device. */
#define VDPA_MIG_REC_FEATURES		0x0001
#define VDPA_MIG_REC_STATUS		0x0002
#define VDPA_MIG_REC_CONFIG		0x0003
#define VDPA_MIG_REC_VQ			0x0004
#define VDPA_MIG_REC_VQ_INFLIGHT	0x0005
/* 0x0100..: one range per device type. */
#define VDPA_MIG_REC_NET		0x0100
#define VDPA_MIG_REC_NET_MAC_TABLE	0x0101
#define VDPA_MIG_REC_NET_VLAN		0x0102
#define VDPA_MIG_REC_NET_OFFLOADS	0x0103	/* since 1.1 */
#define VDPA_MIG_REC_BLK		0x0200
#define VDPA_MIG_REC_SCSI		0x0300
#define VDPA_MIG_REC_FS			0x0400
/* 0xff00..0xffff: vendor records, always optional. */
#define VDPA_MIG_REC_VENDOR_FIRST	0xff00

/**
 * struct vdpa_mig_rec_features - VDPA_MIG_REC_FEATURES (mandatory)
 * @device: features the source device offered
 * @driver: features the driver negotiated; the destination must offer
 *	all of them
 * @backend: vhost backend features userspace set (informational)
 */
struct vdpa_mig_rec_features {
	__le64 device;
	__le64 driver;
	__le64 backend;
};

/**
 * struct vdpa_mig_rec_status - VDPA_MIG_REC_STATUS (mandatory)
 * @status: virtio device status byte as the driver last set it
 * @generation: config generation (informational)
 * @nr_groups: virtqueue groups of the source (1..8)
 * @nr_as: address spaces of the source
 * @group_asid: address space of groups 0..7 (0 past @nr_groups).  A
 *	destination takes the address space of each queue from here; its
 *	own grouping may differ if it can give every queue the same one.
 */
struct vdpa_mig_rec_status {
	__le32 status;
	__le32 generation;
	__le32 nr_groups;
	__le32 nr_as;
	__le32 group_asid[8];
};

/**
 * struct vdpa_mig_rec_config - VDPA_MIG_REC_CONFIG (mandatory)
 * @size: bytes of device config space following
 * @reserved: 0
 * @data: the config space (flexible)
 */
struct vdpa_mig_rec_config {
	__le32 size;
	__le32 reserved;
	__u8 data[];
};

/* struct vdpa_mig_rec_vq.flags */
#define VDPA_MIG_VQ_F_READY		(1U << 0)
#define VDPA_MIG_VQ_F_PACKED		(1U << 1)

/**
 * struct vdpa_mig_rec_vq - VDPA_MIG_REC_VQ (mandatory), one per virtqueue
 * @index: virtqueue index
 * @flags: VDPA_MIG_VQ_F_*
 * @num: queue size
 * @group: virtqueue group
 * @desc: IOVA of the descriptor area
 * @driver: IOVA of the driver area
 * @device: IOVA of the device area
 * @avail_idx: split: next available index the device reads (free
 *	running); packed: next available descriptor index
 * @used_idx: split: next used index the device writes; packed: next
 *	used descriptor index
 * @avail_wrap: packed only: wrap counter of @avail_idx
 * @used_wrap: packed only: wrap counter of @used_idx
 */
struct vdpa_mig_rec_vq {
	__le32 index;
	__le32 flags;
	__le32 num;
	__le32 group;
	__le64 desc;
	__le64 driver;
	__le64 device;
	__le32 avail_idx;
	__le32 used_idx;
	__le32 avail_wrap;
	__le32 used_wrap;
};

/**
 * struct vdpa_mig_inflight - one request taken but not completed
 * @head: split: head descriptor index; packed: buffer ID
 * @avail_pos: split: the free-running available index the head was read
 *	from; packed: descriptor index of the head
 */
struct vdpa_mig_inflight {
	__le32 head;
	__le32 avail_pos;
};

/**
 * struct vdpa_mig_rec_vq_inflight - VDPA_MIG_REC_VQ_INFLIGHT (mandatory)
 * @index: virtqueue index; follows that queue's VQ record
 * @count: entries in @req, oldest first
 * @req: the requests (flexible); the destination runs them again and
 *	completes each exactly once
 */
struct vdpa_mig_rec_vq_inflight {
	__le32 index;
	__le32 count;
	struct vdpa_mig_inflight req[];
};

/* struct vdpa_mig_rec_net.rx_mode */
#define VDPA_MIG_NET_RX_PROMISC		(1U << 0)
#define VDPA_MIG_NET_RX_ALLMULTI	(1U << 1)
#define VDPA_MIG_NET_RX_ALLUNI		(1U << 2)
#define VDPA_MIG_NET_RX_NOMULTI		(1U << 3)
#define VDPA_MIG_NET_RX_NOUNI		(1U << 4)
#define VDPA_MIG_NET_RX_NOBCAST		(1U << 5)
/* The driver's unicast / multicast table did not fit: accept them all. */
#define VDPA_MIG_NET_RX_UNI_OVERFLOW	(1U << 6)
#define VDPA_MIG_NET_RX_MULTI_OVERFLOW	(1U << 7)

/**
 * struct vdpa_mig_rec_net - VDPA_MIG_REC_NET: control virtqueue state
 * @mac: the MAC the driver set with VIRTIO_NET_CTRL_MAC_ADDR_SET, in
 *	the low 6 bytes, network order
 * @rx_mode: VDPA_MIG_NET_RX_*
 * @mq_pairs: queue pairs the driver enabled (VIRTIO_NET_CTRL_MQ)
 * @reserved: 0
 */
struct vdpa_mig_rec_net {
	__u8 mac[8];
	__le32 rx_mode;
	__le32 mq_pairs;
	__le64 reserved;
};

/**
 * struct vdpa_mig_rec_net_mac_table - VDPA_MIG_REC_NET_MAC_TABLE
 * @n_uni: unicast entries first in @mac
 * @n_multi: multicast entries after them
 * @mac: entries of 8 bytes, the MAC in the low 6 (flexible)
 */
struct vdpa_mig_rec_net_mac_table {
	__le32 n_uni;
	__le32 n_multi;
	__u8 mac[][8];
};

/**
 * struct vdpa_mig_rec_net_vlan - VDPA_MIG_REC_NET_VLAN
 * @bitmap: VLAN IDs the driver added with VIRTIO_NET_CTRL_VLAN_ADD, bit
 *	(id % 64) of word (id / 64)
 */
struct vdpa_mig_rec_net_vlan {
	__le64 bitmap[64];
};

/**
 * struct vdpa_mig_rec_net_offloads - VDPA_MIG_REC_NET_OFFLOADS
 * @offloads: the guest offloads the driver set with
 *	VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET: bits of the VIRTIO_NET_F_GUEST_*
 *	features (CSUM, TSO4, TSO6, ECN, UFO, USO4 = 54, USO6 = 55)
 * @reserved: 0
 *
 * Written (mandatory) only while the driver has other offloads than the
 * negotiated ones; without the record the offloads are those, as after a
 * reset.
 */
struct vdpa_mig_rec_net_offloads {
	__le64 offloads;
	__le64 reserved;
};

/**
 * struct vdpa_mig_rec_blk - VDPA_MIG_REC_BLK
 * @capacity: capacity in 512-byte sectors when saved
 * @writeback: the driver's cache mode (config writeback field)
 * @read_only: the device was read-only
 * @reserved: 0
 */
struct vdpa_mig_rec_blk {
	__le64 capacity;
	__le32 writeback;
	__le32 read_only;
	__le64 reserved;
};

/**
 * struct vdpa_mig_rec_scsi - VDPA_MIG_REC_SCSI (defined; no parent fills
 *	it yet)
 * @sense_size: sense size the driver wrote to config space
 * @cdb_size: CDB size the driver wrote to config space
 * @events_dropped: an event was dropped and not yet reported
 * @reserved: 0
 */
struct vdpa_mig_rec_scsi {
	__le32 sense_size;
	__le32 cdb_size;
	__le32 events_dropped;
	__le32 reserved;
};

/**
 * struct vdpa_mig_rec_fs - VDPA_MIG_REC_FS (defined; no parent fills it
 *	yet)
 * @notify_buf_size: notification buffer size in use
 * @reserved: 0
 * @session: opaque session state of the file system daemon (flexible)
 */
struct vdpa_mig_rec_fs {
	__le32 notify_buf_size;
	__le32 reserved;
	__u8 session[];
};

#endif /* _UAPI_LINUX_VDPA_MIGRATE_H */
