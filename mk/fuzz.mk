# libFuzzer targets of the dump parsers (included by the Makefile).
#
# $(B)/fuzz/fuzz_dump     the probe path: any bytes through the probe list,
#                         then once more as a forced raw image
# $(B)/fuzz/fuzz-FORMAT   one format back end alone (dp_options.format =
#                         FORMAT), for every readable format of the probe list
#
# clang with libFuzzer (Debian: clang and libclang-rt-14-dev, listed in
# scripts/packages for these targets only); AddressSanitizer and
# UndefinedBehaviorSanitizer are always on.  The dumpparse objects are
# compiled once for all targets.  `make fuzz FUZZ_SECONDS=N` runs every
# target for N seconds (tests/fuzz/run-all, docs/dumpparse.md "Fuzzing").
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_FLAGS := -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -D_GNU_SOURCE
# the readable formats, by their dp_format_name()
FUZZ_FORMATS := libvirt-save qemu-migration kdump-flattened kdump xen-xc-core elf windows-crashdump \
	lime vmware-vmss sadump raw
FUZZ_BIN := $(B)/fuzz/fuzz_dump $(FUZZ_FORMATS:%=$(B)/fuzz/fuzz-%)
FUZZ_DP_OBJ := $(DP_SRC:dumpparse/%.c=$(B)/fuzz/obj/%.o)

$(B)/fuzz/obj/%.o: dumpparse/%.c $(wildcard dumpparse/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -Idumpparse $(LIB_CFLAGS) -c -o $@ $<

$(B)/fuzz/fuzz_dump: tests/fuzz/fuzz_dump.c $(FUZZ_DP_OBJ)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -Idumpparse $(LIB_CFLAGS) -o $@ $< $(FUZZ_DP_OBJ) $(LIB_LIBS) -lm

$(B)/fuzz/fuzz-%: tests/fuzz/fuzz_dump.c $(FUZZ_DP_OBJ)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -DFZ_FORMAT='"$*"' -Idumpparse $(LIB_CFLAGS) -o $@ $< \
	  $(FUZZ_DP_OBJ) $(LIB_LIBS) -lm

# Every target for FUZZ_SECONDS, seeded with its format's fixtures and the
# corpus; prints executions, coverage and crashes per target.  New inputs
# and crashes land in $(B)/fuzz/TARGET/ (a crash, once fixed, goes into
# tests/fuzz/corpus/ with its outcome lines in tests/fuzz/corpus.expect).
fuzz: deps
	@$(MAKE) --no-print-directory $(FUZZ_BIN) $(FIX_BIN) $(B)/tests/unit/test_fuzz_replay
	@B=$(B) tests/fuzz/run-all $(FUZZ_SECONDS) probe $(FUZZ_FORMATS)
