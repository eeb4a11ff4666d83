# taml build. `make` builds build/taml and build/libtaml.a; `make test` runs the
# fast tests; `make SANITIZE=address,undefined test` runs them under ASan+UBSan
# (objects go to their own build directory, so both builds coexist).
# Every library source lives in src/<layer>/<subsystem>.c; the CLI in src/cli/.

CC      ?= gcc
SANITIZE ?=
OPT     ?= -O2
comma   := ,
MPI     ?=
BUILD   := build$(if $(MPI),-mpi)$(if $(SANITIZE),-$(subst $(comma),-,$(SANITIZE)))

# -Wjump-misses-init (GCC): a `goto out` past an initialised declaration
# leaves that variable indeterminate at the label, where the cleanup may free
# it (libFuzzer found one in src/nn/model.c); declare such variables before
# the first goto. Clang has no such warning and refuses the flag, so it is
# only given to a compiler that accepts it.
JUMP_WARN := $(shell $(CC) -Wjump-misses-init -Werror -fsyntax-only -x c /dev/null 2>/dev/null \
               && echo -Wjump-misses-init)
# -Wshadow: a name that hides another is a bug waiting; -Wstrict-prototypes and
# -Wmissing-prototypes: every exported function has its prototype in a header
# (a function without one is static), and () means no arguments.
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes $(JUMP_WARN)
CFLAGS  := -std=c11 -D_GNU_SOURCE $(OPT) -g $(WARN) -Werror -pthread \
           -Iinclude -Isrc $(EXTRA_CFLAGS)
LDLIBS  := -lsqlite3 -lcjson -lutf8proc -lz -lm -lpthread -ldl
ifneq ($(SANITIZE),)
CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
endif

LIB_SRC  := $(sort $(wildcard src/core/*.c src/data/*.c src/embed/*.c src/nn/*.c \
              src/space/*.c src/ctrl/*.c src/search/*.c src/exec/*.c \
              src/store/*.c src/report/*.c src/api/*.c))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
# tests/fake_main.c is the main() of build/taml-fake, not a test.
TEST_SRC := $(filter-out tests/fake_main.c,$(sort $(wildcard tests/*.c)))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
# Every command without main(): linked into taml (with src/cli/main.o) and
# taml-fake (with tests/fake_main.o).
CLI_CMD_OBJ := $(filter-out $(BUILD)/src/cli/main.o,$(CLI_OBJ))
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)
FAKE_OBJ := $(BUILD)/tests/fake_main.o $(BUILD)/tests/fake_child.o
SETUP    := build/.setup-ok

.PHONY: all test setup demo clean bench fuzz bench-child bench-controller bench-vision check bench-asktell \
        shared install uninstall
all: $(BUILD)/taml $(BUILD)/libtaml.a

# The setup step installs missing Debian packages; it is quiet when all is there.
$(SETUP): scripts/setup
	@scripts/setup
	@mkdir -p build && touch $@
setup:
	@scripts/setup

$(BUILD)/%.o: %.c | $(SETUP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# The child model (src/nn) is the hot path of every trial and the controller
# (src/ctrl) runs once per trial on the main thread: -O3 vectorises their
# loops of run-time length and -fno-math-errno lets sqrtf vectorise. Neither
# changes a result (no -ffast-math: same IEEE operations in the same order).
$(BUILD)/src/nn/%.o $(BUILD)/src/ctrl/%.o: CFLAGS += -O3 -fno-math-errno
# The image-module kernels' AVX2 / AVX-512 builds (src/nn/cnn_kernels.c) fuse
# multiply and add into FMA instructions: half the arithmetic of the
# depthwise and direct convolutions. It changes the last bits of the
# features against the baseline build (which has no FMA to fuse into), as
# OpenBLAS's own kernels differ by CPU; nothing else is compiled this way.
$(BUILD)/src/nn/cnn_kernels.o: CFLAGS += -ffp-contract=fast

$(BUILD)/libtaml.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# The shared library: the same sources compiled again with -fPIC into
# $(BUILD)/pic/ (the static library and the binary keep their objects, so
# nothing they compute changes), linked with its soname libtaml.so.MAJOR
# (include/taml/version.h). `make shared` builds it; install needs it.
VERSION_H := include/taml/version.h
V_MAJOR := $(shell sed -n 's/^\#define TAML_VERSION_MAJOR //p' $(VERSION_H))
V_FULL  := $(shell sed -n 's/^\#define TAML_VERSION "\(.*\)"/\1/p' $(VERSION_H))
SONAME  := libtaml.so.$(V_MAJOR)
PIC_OBJ := $(LIB_SRC:%.c=$(BUILD)/pic/%.o)
$(BUILD)/pic/%.o: %.c | $(SETUP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -MMD -MP -c $< -o $@
$(BUILD)/pic/src/nn/%.o $(BUILD)/pic/src/ctrl/%.o: CFLAGS += -O3 -fno-math-errno
$(BUILD)/pic/src/nn/cnn_kernels.o: CFLAGS += -ffp-contract=fast
$(BUILD)/libtaml.so.$(V_FULL): $(PIC_OBJ) src/api/exports.map
	$(CC) $(CFLAGS) $(LDFLAGS) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=src/api/exports.map \
	  -o $@ $(PIC_OBJ) $(LDLIBS)
shared: $(BUILD)/libtaml.so.$(V_FULL)
-include $(PIC_OBJ:.o=.d)

$(BUILD)/taml: $(CLI_OBJ) $(BUILD)/libtaml.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libtaml.a $(LDLIBS)
ifeq ($(BUILD),build)
	@ln -sf $(BUILD)/taml taml
endif

$(BUILD)/taml-tests: $(TEST_OBJ) $(BUILD)/libtaml.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(TEST_OBJ) $(BUILD)/libtaml.a $(LDLIBS)

# taml with the fake child of the tests (tests/fake_main.c): only for the
# tests that run and kill whole searches (TAML_FAKE_BIN); never installed.
$(BUILD)/taml-fake: $(FAKE_OBJ) $(CLI_CMD_OBJ) $(BUILD)/libtaml.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(FAKE_OBJ) $(CLI_CMD_OBJ) $(BUILD)/libtaml.a $(LDLIBS)

# The runner's own check (tests/test_runner.c): tests that crash, hang and
# fail on purpose, under the same runner (tests/runner_check/).
$(BUILD)/tests/runner-check: tests/runner_check/runner_check.c $(BUILD)/tests/runner.o $(BUILD)/libtaml.a | $(SETUP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/tests/runner.o $(BUILD)/libtaml.a $(LDLIBS)

# Tests run from the repository root (fixtures are in tests/fixtures/), each
# in a process of its own with a time limit (TAML_TEST_TIMEOUT seconds,
# default 600). TESTS=pattern runs only the tests whose name contains the
# pattern.
# The install test (tests/install_check.sh) runs `make install` with the
# build's own variables (TAML_MAKE_VARS) and builds programs with its flags
# (TAML_CC_FLAGS; tests/test_api.c links examples/ with TAML_LIB).
test: $(BUILD)/taml-tests $(BUILD)/taml $(BUILD)/taml-fake $(BUILD)/tests/runner-check \
      $(BUILD)/libtaml.so.$(V_FULL)
	TAML_BIN=$(BUILD)/taml TAML_FAKE_BIN=$(BUILD)/taml-fake TAML_RUNNER_CHECK=$(BUILD)/tests/runner-check \
	  TAML_MAKE_VARS="$(if $(SANITIZE),SANITIZE=$(SANITIZE)) $(if $(MPI),MPI=$(MPI))" \
	  TAML_CC_FLAGS="$(if $(SANITIZE),-fsanitize=$(SANITIZE))" TAML_LIB=$(BUILD)/libtaml.a \
	  $(BUILD)/taml-tests $(TESTS)

# The threaded tests under ThreadSanitizer (CI): the thread pool, the search
# on worker threads (and on borrowed executors), the features cache shared
# by threads, a task read by many threads, a store reader beside its
# writer, the CLI with --isolation thread, an ensemble's candidates
# retrained on threads (export_ensemble); also the process backend
# (it has no threads, but its fork server must fork cleanly under TSan).
# The kill-at-random-points tests are left out: under TSan each takes
# minutes and they test no thread that these do not.
TSAN_TESTS := pool_ feature_cache search_random search_deterministic search_multitask \
              search_resume search_transfer search_first_checkpoint search_on_a_borrowed \
              search_stops_on task_loaded_task_and_tokeniser store_reader \
              isolation_cli_processes_and_threads export_ensemble image_features_are \
              two_processes_wait
.PHONY: test-tsan
test-tsan:
	$(MAKE) SANITIZE=thread test TESTS="$(TSAN_TESTS)"

# `make check` (run by CI): the rules the build enforces rather than memory.
# (a) the layering of src/: each folder includes only the folders below it,
#     the order written once in scripts/check/layers; (b) every exported
#     symbol is declared in one header and carries its module's prefix
#     (scripts/check/symbols, over the objects); (c) every warning of $(WARN)
#     is an error in the library, the CLI, the tests, benchmarks and fuzz
#     targets, which this target builds.
check: all $(BUILD)/taml-tests bench fuzz
	scripts/check/layers
	scripts/check/symbols $(BUILD)

# `make install PREFIX=/usr/local` (DESTDIR honoured; `make uninstall` removes
# exactly what it installed): the binary, both libraries, the public header
# (include/taml/: taml.h and what it includes, nothing of src/), taml.pc
# (written for this PREFIX), the
# man pages (man/), and share/taml/: what an installed taml reads at run
# time (scripts/setup, the task fetchers and the module library's build,
# and the shipped controllers/*.tamlctrl when they are there: `taml search
# --method transfer` without --from reads them; found through core/util.c's
# taml_home). INSTALL_FILES lists them once for
# both targets and for the test that checks the list (tests/test_install.c).
PREFIX  ?= /usr/local
DESTDIR ?=
LIBDIR  ?= $(PREFIX)/lib
INC_FILES   := $(sort $(wildcard include/taml/*.h))
MAN_FILES   := $(sort $(wildcard man/*.1))
SHARE_FILES := scripts/setup $(sort $(wildcard scripts/fetch/*.py scripts/fetch/tasks/* \
                 scripts/modules/* controllers/*.tamlctrl))
D := $(DESTDIR)
install: $(BUILD)/taml $(BUILD)/libtaml.a $(BUILD)/libtaml.so.$(V_FULL)
	install -d $(D)$(PREFIX)/bin $(D)$(LIBDIR)/pkgconfig $(D)$(PREFIX)/include/taml \
	  $(D)$(PREFIX)/share/man/man1
	install -m 755 $(BUILD)/taml $(D)$(PREFIX)/bin/taml
	install -m 644 $(BUILD)/libtaml.a $(D)$(LIBDIR)/libtaml.a
	install -m 755 $(BUILD)/libtaml.so.$(V_FULL) $(D)$(LIBDIR)/libtaml.so.$(V_FULL)
	ln -sf libtaml.so.$(V_FULL) $(D)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(D)$(LIBDIR)/libtaml.so
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$${prefix}/include' '' \
	  'Name: taml' 'Description: Transfer Automatic Machine Learning: studies, ask/tell, train, predict' \
	  'Version: $(V_FULL)' 'Cflags: -I$${includedir}' 'Libs: -L$${libdir} -ltaml' \
	  'Libs.private: $(LDLIBS)' > $(D)$(LIBDIR)/pkgconfig/taml.pc
	install -m 644 $(INC_FILES) $(D)$(PREFIX)/include/taml/
	install -m 644 $(MAN_FILES) $(D)$(PREFIX)/share/man/man1/
	for f in $(SHARE_FILES); do \
	  install -d $(D)$(PREFIX)/share/taml/$$(dirname $$f) && \
	  install -m $$([ -x $$f ] && echo 755 || echo 644) $$f $(D)$(PREFIX)/share/taml/$$f || exit 1; \
	done
uninstall:
	rm -f $(D)$(PREFIX)/bin/taml $(D)$(LIBDIR)/libtaml.a $(D)$(LIBDIR)/libtaml.so \
	  $(D)$(LIBDIR)/$(SONAME) $(D)$(LIBDIR)/libtaml.so.$(V_FULL) $(D)$(LIBDIR)/pkgconfig/taml.pc
	rm -f $(INC_FILES:include/taml/%=$(D)$(PREFIX)/include/taml/%) \
	  $(MAN_FILES:man/%=$(D)$(PREFIX)/share/man/man1/%)
	rm -f $(SHARE_FILES:%=$(D)$(PREFIX)/share/taml/%)
	for d in include/taml share/taml/scripts/fetch/tasks share/taml/scripts/fetch \
	  share/taml/scripts/modules share/taml/scripts share/taml/controllers share/taml; do \
	  [ ! -d $(D)$(PREFIX)/$$d ] || rmdir $(D)$(PREFIX)/$$d || exit 1; done
# The controller taml ships (controllers/default-text.tamlctrl), rebuilt bit
# for bit from the public task suite: fetches the suite and the module
# library, runs one --deterministic multitask search over every text task
# in the default space and exports it (scripts/controller/build says what
# fixes the result; CONTROLLER_TRIALS etc. there). The defaults: about 40
# minutes on 2 cores.
.PHONY: controller
controller: all
	scripts/controller/build

# The README's first command: set up, then run the demo end to end.
demo: all
	scripts/demo

clean:
	rm -rf build build-* taml

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(BUILD)/tests/fake_main.d

# Benchmarks: every bench/NAME.c becomes $(BUILD)/bench/NAME (linked with
# libtaml.a). They print figures and never fail a build on a timing. Those
# that run the fake child (tests/fake_child.h) are linked with it too.
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_FAKE := bench_mpi
bench: $(BENCH_SRC:%.c=$(BUILD)/%)
$(BUILD)/bench/%: bench/%.c $(BUILD)/libtaml.a | $(SETUP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.c %.o,$^) $(BUILD)/libtaml.a $(LDLIBS)
$(BENCH_FAKE:%=$(BUILD)/bench/%): $(BUILD)/tests/fake_child.o

# Fuzz targets: every fuzz/fuzz_NAME.c builds as $(BUILD)/fuzz/fuzz_NAME, a plain
# program replaying a corpus (e.g. fuzz/corpus/task/) with the main() of
# fuzz/replay.c; see each file for the libFuzzer build (without replay.c).
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))
fuzz: $(FUZZ_SRC:%.c=$(BUILD)/%)
$(BUILD)/fuzz/fuzz_%: fuzz/fuzz_%.c $(BUILD)/fuzz/replay.o $(BUILD)/libtaml.a | $(SETUP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/fuzz/replay.o $(BUILD)/libtaml.a $(LDLIBS)
.SECONDARY: $(BUILD)/fuzz/replay.o
-include $(BUILD)/fuzz/replay.d

# `make fuzz-long`: every parser under libFuzzer with ASan and UBSan, at least
# FUZZ_SECONDS each (fuzz/long.sh; results in docs/PERFORMANCE.md). The
# library is built by Clang into build-libfuzzer/ with coverage hooks, each
# target links libFuzzer's main (no replay.c). FUZZ_NAMES picks targets.
FUZZ_SECONDS ?= 600
FUZZ_NAMES ?= task module config ctrl study model wire cnn
# FUZZ_JOBS=1 runs one target at a time (leaves a core free)
LF_BUILD := build-libfuzzer
LF_FLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
.PHONY: fuzz-long
fuzz-long:
	$(MAKE) CC=clang BUILD=$(LF_BUILD) EXTRA_CFLAGS="$(LF_FLAGS)" $(LF_BUILD)/libtaml.a
	@mkdir -p $(LF_BUILD)/fuzz
	for n in $(FUZZ_NAMES); do \
	  clang -std=c11 -D_GNU_SOURCE -O1 -g -Iinclude -Isrc -DTAML_LIBFUZZER \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -o $(LF_BUILD)/fuzz/lf_$$n fuzz/fuzz_$$n.c $(LF_BUILD)/libtaml.a $(LDLIBS) || exit 1; \
	done
	fuzz/long.sh $(LF_BUILD) $(FUZZ_SECONDS) $(FUZZ_NAMES)

# The child model's speed against the PyTorch reference (bench/bench_child.py);
# BENCH_ARGS="--against OTHER/build/bench/bench_child --no-torch" runs another
# build beside this one instead.
bench-child: $(BUILD)/bench/bench_child
	scripts/setup bench
	bench/bench_child.py --bin $(BUILD)/bench/bench_child $(BENCH_ARGS)

# Image-module feature extraction against PyTorch (and TF.js in node when
# the package cache has it), 1 thread; GFLOP/s per op type against the
# SGEMM peak (bench/bench_vision.py).
bench-vision: $(BUILD)/bench/bench_vision $(BUILD)/taml
	bench/bench_vision.py --bin $(BUILD)/bench/bench_vision --taml $(BUILD)/taml

# The controller's cost per trial (sample + update) next to Optuna 3.1's TPE
# on the same 12-decision space (the anchor script, Debian python3-optuna).
OPTUNA_ANCHOR ?= $(firstword $(wildcard ../shared/anchors/optuna_overhead.py /work/shared/anchors/optuna_overhead.py))
OPTUNA_TRIALS ?= 300
bench-controller: $(BUILD)/bench/bench_controller
	$(BUILD)/bench/bench_controller speed 3000
	@if [ -n "$(OPTUNA_ANCHOR)" ] && [ -f "$(OPTUNA_ANCHOR)" ]; then \
	  /usr/bin/python3 $(OPTUNA_ANCHOR) --samplers tpe --trials $(OPTUNA_TRIALS) --report 100 $(OPTUNA_TRIALS); \
	else echo "bench-controller: no Optuna anchor at $(OPTUNA_ANCHOR) (set OPTUNA_ANCHOR=...)"; fi

# The overhead per trial of ask/tell and --objective beside Optuna's ask/tell
# on SQLite (bench/bench_ask_tell.py; the anchor gives the space).
bench-asktell: $(BUILD)/bench/bench_ask_tell $(BUILD)/taml
	/usr/bin/python3 bench/bench_ask_tell.py --bin $(BUILD)/bench/bench_ask_tell --taml $(BUILD)/taml \
	  $(if $(OPTUNA_ANCHOR),--anchor $(OPTUNA_ANCHOR))

# MPI (issue 7): `make MPI=1` builds build-mpi/taml with the MPI transport:
# src/exec/mpi.c is compiled with mpicc and -DTAML_MPI, the programs are
# linked with mpicc; every other file is compiled as in the default build.
# Not detected from an installed mpicc on purpose: the default build and
# `make test` must be the same on every machine and need no MPI.
# `make test-mpi` and `make bench-mpi` build with MPI=1 themselves.
MPICC ?= mpicc
MPI_SETUP := build/.setup-mpi-ok
$(MPI_SETUP): scripts/setup
	@scripts/setup mpi
	@mkdir -p build && touch $@
MPI_TEST_SRC := $(sort $(wildcard tests/mpi/*.c))
MPI_TEST_OBJ := $(MPI_TEST_SRC:%.c=$(BUILD)/%.o) $(BUILD)/tests/runner.o $(BUILD)/tests/study_compare.o \
                $(BUILD)/tests/testutil.o
.PHONY: test-mpi bench-mpi
ifneq ($(MPI),)
$(BUILD)/src/exec/mpi.o: private CC := $(MPICC)
$(BUILD)/src/exec/mpi.o: private CFLAGS += -DTAML_MPI
$(BUILD)/src/exec/mpi.o: | $(MPI_SETUP)
$(BUILD)/taml $(BUILD)/taml-fake $(BUILD)/taml-tests $(BUILD)/taml-mpi-tests: private CC := $(MPICC)
$(BUILD)/bench/%: private CC := $(MPICC)
$(BUILD)/fuzz/%: private CC := $(MPICC)
$(BUILD)/taml-mpi-tests: $(MPI_TEST_OBJ) $(BUILD)/libtaml.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(MPI_TEST_OBJ) $(BUILD)/libtaml.a $(LDLIBS)
-include $(MPI_TEST_OBJ:.o=.d)
# A deliberately broken rank for the malformed-message tests.
$(BUILD)/tests/mpi-rogue: tests/mpi/rogue/rogue_rank.c $(BUILD)/libtaml.a | $(MPI_SETUP)
	@mkdir -p $(dir $@)
	$(MPICC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libtaml.a $(LDLIBS)
# The MPI tests start `mpirun -n 3 --oversubscribe` on this machine.
test-mpi: $(BUILD)/taml-mpi-tests $(BUILD)/taml $(BUILD)/taml-fake $(BUILD)/tests/mpi-rogue
	TAML_BIN=$(BUILD)/taml TAML_FAKE_BIN=$(BUILD)/taml-fake TAML_ROGUE=$(BUILD)/tests/mpi-rogue \
	  $(BUILD)/taml-mpi-tests $(TESTS)
# Trial throughput against the ideal over 2..65 oversubscribed ranks.
bench-mpi: $(BUILD)/bench/bench_mpi
	bench/bench_mpi.sh $(BUILD)/bench/bench_mpi
else
test-mpi bench-mpi:
	$(MAKE) MPI=1 $@
endif
