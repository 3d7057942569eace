# SPDX-License-Identifier: GPL-2.0
#
# vdpa-fusion: out-of-tree build, lint and VM tests.
#
#   make [all|modules]  build the compat vDPA stack (build/compat) and our modules
#   make lint           style (checkpatch) + sparse + w1 + coccicheck, our code only
#   make test           build selftests, run every suite in a QEMU VM (Debian kernel)
#   make test-dbg       the same suites on the sanitizer kernel (KASAN, lockdep,
#                       kmemleak, UBSAN, failslab), built by "make dbgkernel"
#   make test-dbg-quick test-dbg without the tests tagged "slow"
#   make check          lint + test + test-dbg-quick (the CI entry point, see
#                       .ci/run; a cold debug-kernel build alone takes ~9 min
#                       on 2 cores, ccache outside the clone makes it cheap)
#   make check-all      lint + test + test-dbg (both tiers, every test)
#   make demo           boot the VM and run scripts/demo-in-vm.sh
#   make bench          boot the VM and run scripts/bench/*.sh (same-run ratios)
#   make clean
#
# KDIR defaults to the newest /lib/modules/*-amd64/build; override with KDIR=.
# Packages come from scripts/deps.sh (idempotent); the user-facing targets
# check, demo and bench run it first, the building blocks do not.

ifeq ($(KVER),)
KVER := $(shell scripts/kver.sh)
endif
KDIR ?= /lib/modules/$(KVER)/build
export KVER KDIR

COMPAT_SYMVERS := $(CURDIR)/build/compat/Module.symvers
KBUILD_ARGS := -C $(KDIR) M=$(CURDIR) KBUILD_EXTRA_SYMBOLS=$(COMPAT_SYMVERS)

# Selftest suites: every tools/testing/selftests/vdpa_*/ with a Makefile.
SUITES ?= $(patsubst %/Makefile,%,$(wildcard tools/testing/selftests/vdpa_*/Makefile))

.PHONY: all deps modules compat ksrc lint style sparse w1 coccicheck rst \
	selftests test dbgkernel dbg-modules test-dbg test-dbg-quick check check-all demo bench clean

all: modules

deps:
	@scripts/deps.sh

ksrc:
	@scripts/ksrc.sh >/dev/null

compat:
	@scripts/compat.sh

modules: compat
	$(MAKE) $(KBUILD_ARGS) modules

# --- lint -----------------------------------------------------------------
# -k: report every linter's findings, not just the first failing one.
lint:
	@$(MAKE) --no-print-directory -k style sparse w1 coccicheck rst

style: ksrc
	scripts/lint/checkpatch.sh

sparse: compat
	scripts/lint/kbuild-warnings.sh sparse $(KBUILD_ARGS) C=2 CF="-D__CHECK_ENDIAN__" modules

w1: compat
	scripts/lint/kbuild-warnings.sh w1 $(KBUILD_ARGS) W=1 modules

coccicheck: ksrc
	scripts/lint/coccicheck.sh

rst:
	scripts/lint/rst.sh

# --- tests ----------------------------------------------------------------
# Suites build on the host into build/selftests/<suite>/; kselftest_harness.h
# comes from the extracted kernel source.
selftests:
	@set -e; inc=$$(scripts/ksrc.sh)/tools/testing/selftests; \
	for s in $(SUITES); do \
		$(MAKE) -C $$s OUTPUT=$(CURDIR)/build/selftests/$$(basename $$s) KSFT_INC=$$inc; \
	done
	$(MAKE) -C tools/vdpa-migrate OUTPUT=$(CURDIR)/build/tools

test: modules selftests
	scripts/vm/ktest.sh $(SUITES)

# --- debug (sanitizer) tier ---------------------------------------------------
# The kernel is built from linux-source with scripts/debugkernel/debug.config
# into build/dbg/obj, cached until the fragment or the tarball changes; our
# modules are built against it in build/dbg/ours.
DBG_BZIMAGE := $(CURDIR)/build/dbg/obj/arch/x86/boot/bzImage

dbgkernel:
	@scripts/debugkernel/build.sh >/dev/null

dbg-modules: dbgkernel
	@scripts/debugkernel/modules.sh

test-dbg: dbg-modules selftests
	scripts/vm/ktest.sh --kernel $(DBG_BZIMAGE) $(SUITES)

# The debug tier without the tests tagged "slow" in tests.list.
test-dbg-quick: dbg-modules selftests
	VDPA_QUICK=1 scripts/vm/ktest.sh --kernel $(DBG_BZIMAGE) $(SUITES)

# -k: run everything even when something fails; any failure fails "check".
# "check" (CI) runs both tiers; the debug tier without the tests tagged slow.
check: deps
	@$(MAKE) --no-print-directory -k lint test test-dbg-quick

check-all: deps
	@$(MAKE) --no-print-directory -k lint test test-dbg

demo: deps
	@$(MAKE) --no-print-directory modules
	scripts/demo.sh

bench: deps
	@$(MAKE) --no-print-directory modules selftests
	scripts/bench.sh

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -rf build
