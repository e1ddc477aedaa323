# samepage — plain GNU make.  `make` builds bin/; `make check` installs what
# is missing, builds and runs every test; `make demo` boots guests and
# analyzes their memory; `make install`, `make uninstall` and `make deb`
# (mk/install.mk, docs/install.md).  Overridable: CC, CFLAGS, LDFLAGS, SANITIZE
# (e.g. SANITIZE=address,undefined), WERROR=1, B and BINDIR (output folders).

CC      ?= cc
CFLAGS  ?= -O2 -g
LDFLAGS ?=
SANITIZE ?=
WERROR  ?=
PKG_CONFIG ?= pkg-config

# B: objects and test programs; BINDIR: programs.  Override both to keep a
# sanitizer build beside the normal one (tests/run reads the same names).
B ?= build
BINDIR ?= bin
export B BINDIR
WARN := -std=c11 -Wall -Wextra -Wshadow -Wformat=2 -Wvla -Wpointer-arith -Wcast-qual \
        -Wstrict-prototypes -Wmissing-prototypes -Wno-format-nonliteral
ifneq ($(WERROR),)
WARN += -Werror
endif
SANFLAGS :=
ifneq ($(SANITIZE),)
SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

# codec and hash libraries of the analysis side
LIB_PKGS := libcrypto zlib libisal libdeflate libzstd libxxhash lzo2 snappy liblzma
# libbz2 has no pkg-config file on Debian 12
LIB_NOPC_LIBS := -lbz2
LIB_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(LIB_PKGS))
LIB_LIBS   = $(shell $(PKG_CONFIG) --libs $(LIB_PKGS)) $(LIB_NOPC_LIBS)
# multi-buffer SHA1 (libipsec-mb has no pkg-config file); without it the
# engine hashes SHA1 with OpenSSL alone
HAVE_IPSEC_MB := $(shell printf '\043include <intel-ipsec-mb.h>\n' | $(CC) -E -x c - > /dev/null 2>&1 && echo 1)
ifneq ($(HAVE_IPSEC_MB),)
LIB_CFLAGS += -DHAVE_IPSEC_MB
LIB_LIBS   += -lIPSec_MB
endif
# libxxhash's run-time dispatch (XXH3 on AVX-512, AVX2 or SSE2): x86 builds
# of the library have it; without it XXH128 runs the library's plain build
HAVE_XXH_DISPATCH := $(shell printf '\043include <xxh_x86dispatch.h>\nint main(void) { return (int)XXH3_128bits_dispatch("", 0).low64; }\n' | \
	$(CC) -x c - -o /dev/null $(shell $(PKG_CONFIG) --cflags --libs libxxhash 2>/dev/null) > /dev/null 2>&1 && echo 1)
ifneq ($(HAVE_XXH_DISPATCH),)
LIB_CFLAGS += -DHAVE_XXH_DISPATCH
endif
VIRT_CFLAGS = $(shell $(PKG_CONFIG) --cflags libvirt)
VIRT_LIBS   = $(shell $(PKG_CONFIG) --libs libvirt)

# the project's version, one place: the file VERSION
SAMEPAGE_VERSION := $(shell cat VERSION)
VERSION_DEF = -DSAMEPAGE_VERSION='"$(SAMEPAGE_VERSION)"'
ALL_CPPFLAGS = -D_GNU_SOURCE $(VERSION_DEF) -Icommon -Idumpparse -Idedup $(CPPFLAGS)
# debug info names source files relative to the top, not this checkout's path
PATHMAP := -fdebug-prefix-map=$(CURDIR)=.
ALL_CFLAGS   = $(WARN) $(CFLAGS) $(PATHMAP) $(SANFLAGS) -MMD -MP
ALL_LDFLAGS  = $(LDFLAGS) $(SANFLAGS) -pthread

# common: helpers of every program; dumpparse: dump formats; dedup: engine
# and analyses; cli: the dedup-analyze program over them
CM_SRC  := $(sort $(wildcard common/*.c))
DP_SRC  := $(sort $(wildcard dumpparse/*.c))
DD_SRC  := $(sort $(wildcard dedup/*.c))
CLI_SRC := $(sort $(wildcard cli/*.c))
COL_SRC := $(sort $(wildcard collectors/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/*.c))
FIX_SRC  := $(sort $(wildcard tests/formats/*.c))
BENCH_SRC := $(sort $(wildcard bench/*.c))
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))

CM_OBJ  := $(CM_SRC:%.c=$(B)/%.o)
DP_OBJ  := $(DP_SRC:%.c=$(B)/%.o)
DD_OBJ  := $(DD_SRC:%.c=$(B)/%.o)
COL_OBJ := $(COL_SRC:%.c=$(B)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(B)/%.o)
LIBCM   := $(B)/libcommon.a
LIBDP   := $(B)/libdumpparse.a
LIBDD   := $(B)/libdedup.a

PROGS := $(BINDIR)/dedup-analyze $(BINDIR)/memload $(BINDIR)/memload-static
ifneq ($(COL_SRC),)
PROGS += $(BINDIR)/ksm-sample
endif
# dedup-analyze-mpi (fleet/ over the files of cli/ but its main): built when
# Open MPI's development files are installed (pkg-config ompi-c, else mpicc)
FL_SRC := $(sort $(wildcard fleet/*.c))
MPI_CFLAGS := $(shell $(PKG_CONFIG) --cflags ompi-c 2>/dev/null || mpicc --showme:compile 2>/dev/null)
MPI_LIBS := $(shell $(PKG_CONFIG) --libs ompi-c 2>/dev/null || mpicc --showme:link 2>/dev/null)
ifneq ($(strip $(MPI_LIBS)),)
PROGS += $(BINDIR)/dedup-analyze-mpi
endif
FL_OBJ := $(FL_SRC:%.c=$(B)/%.o)
FL_CLI_OBJ := $(filter-out $(B)/fleet-cli/main.o,$(CLI_SRC:cli/%.c=$(B)/fleet-cli/%.o))
FL_PROG := -DPROG='"dedup-analyze-mpi"'
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/unit/%)
FIX_BIN  := $(FIX_SRC:tests/formats/%.c=$(B)/tests/formats/%)
# kdiff compares page bytes with libkdumpfile, an independent reader; the
# tests that use it fail when the library (scripts/packages) is missing
KDF_LIBS := $(shell $(PKG_CONFIG) --libs libkdumpfile 2>/dev/null)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(B)/bench/%)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(B)/tests/tools/%)
ifeq ($(KDF_LIBS),)
TOOL_BIN := $(filter-out $(B)/tests/tools/kdiff,$(TOOL_BIN))
endif

.PHONY: all deps check test demo bench fuzz clean tests-build FORCE
all: $(PROGS)

# Rebuild everything when the flags change (e.g. a SANITIZE build, or
# libipsec-mb installed since the last build).
FLAGS_FILE := $(B)/.flags
$(FLAGS_FILE): FORCE
	@CC='$(CC)' PKG_CONFIG='$(PKG_CONFIG)' scripts/check-libs
	@mkdir -p $(B)
	@echo '$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) ipsec-mb=$(HAVE_IPSEC_MB) xxh-dispatch=$(HAVE_XXH_DISPATCH)' | cmp -s - $@ || \
	  echo '$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) ipsec-mb=$(HAVE_IPSEC_MB) xxh-dispatch=$(HAVE_XXH_DISPATCH)' > $@

$(B)/%.o: %.c $(FLAGS_FILE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(LIB_CFLAGS) -c -o $@ $<

$(B)/collectors/%.o: collectors/%.c $(FLAGS_FILE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) -Icollectors $(ALL_CFLAGS) $(VIRT_CFLAGS) -c -o $@ $<

$(LIBDP): $(DP_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(LIBCM): $(CM_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(LIBDD): $(DD_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BINDIR)/dedup-analyze: $(CLI_OBJ) $(LIBDD) $(LIBDP) $(LIBCM)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIB_LIBS) -lm

$(B)/fleet-cli/%.o: cli/%.c $(FLAGS_FILE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(FL_PROG) $(ALL_CFLAGS) $(LIB_CFLAGS) -c -o $@ $<

$(B)/fleet/%.o: fleet/%.c $(FLAGS_FILE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(FL_PROG) -Icli $(ALL_CFLAGS) $(MPI_CFLAGS) -c -o $@ $<

$(BINDIR)/dedup-analyze-mpi: $(FL_OBJ) $(FL_CLI_OBJ) $(LIBDD) $(LIBDP) $(LIBCM)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(MPI_LIBS) $(LIB_LIBS) -lm

$(BINDIR)/memload: $(B)/synth/memload.o $(LIBCM)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^

# For guests: static, no sanitizer (its runtime cannot be linked statically).
$(BINDIR)/memload-static: synth/memload.c $(CM_SRC) common/common.h $(FLAGS_FILE)
	@mkdir -p $(@D)
	$(CC) -D_GNU_SOURCE $(VERSION_DEF) -Icommon $(WARN) $(CFLAGS) $(PATHMAP) -static -o $@ synth/memload.c $(CM_SRC)

$(BINDIR)/ksm-sample: $(COL_OBJ) $(LIBCM)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(VIRT_LIBS) -lm

$(B)/tests/unit/%: tests/unit/%.c $(LIBDD) $(LIBDP) $(LIBCM) $(FLAGS_FILE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) -Itests $(ALL_CFLAGS) $(LIB_CFLAGS) -o $@ $< $(LIBDD) $(LIBDP) $(LIBCM) $(ALL_LDFLAGS) $(LIB_LIBS) -lm

$(B)/tests/formats/%: tests/formats/%.c $(FLAGS_FILE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) -Itests $(ALL_CFLAGS) $(LIB_CFLAGS) -o $@ $< $(ALL_LDFLAGS) $(LIB_LIBS) -lm

# hashspeed and readpath measure with the engine's own hash back ends
$(B)/bench/hashspeed $(B)/bench/readpath: $(B)/bench/%: bench/%.c $(LIBDD) $(LIBDP) $(FLAGS_FILE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(LIB_CFLAGS) -o $@ $< $(LIBDD) $(LIBDP) $(ALL_LDFLAGS) $(LIB_LIBS) -lm

$(B)/bench/%: bench/%.c $(FLAGS_FILE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(LIB_CFLAGS) -o $@ $< $(ALL_LDFLAGS) $(LIB_LIBS) -lkdumpfile -lm

# libFuzzer targets (clang): mk/fuzz.mk, `make fuzz FUZZ_SECONDS=N`
include mk/fuzz.mk

# Test helpers (not tests themselves): read dumps through libdumpparse, and
# through libkdumpfile as the independent reader.
$(B)/tests/tools/%: tests/tools/%.c $(LIBDP) $(LIBCM) $(FLAGS_FILE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) -Itests $(ALL_CFLAGS) $(LIB_CFLAGS) -o $@ $< $(LIBDP) $(LIBCM) $(ALL_LDFLAGS) $(LIB_LIBS) $(KDF_LIBS) -lm

tests-build: $(PROGS) $(UNIT_BIN) $(FIX_BIN) $(TOOL_BIN) $(FUZZ_BIN)

deps:
	@scripts/deps

# `make check` installs first, then builds and tests in a fresh make so
# that pkg-config sees the libraries it just installed.
check: deps
	@$(MAKE) --no-print-directory test

test: tests-build
	@tests/run

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_BIN)
	@bench/run

clean:
	rm -rf $(B) $(BINDIR)

include mk/install.mk

-include $(shell find $(B) -path '$(B)/guest*' -prune -o -name '*.d' -type f -print 2>/dev/null)
