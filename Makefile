# tokmux build. Every dependency is found through pkg-config.
# Sources are discovered: src/*.c is the product library (libtokmux.a),
# src/demo/*.c the demo tooling (libtokmux-demo.a: mock provider, sim-agent,
# demo), main.c the program entry; tests/test_*.c and tests/demo/test_*.c.

SHELL   := /bin/bash
CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
PKGS    := ncursesw vterm libcurl libcjson libmicrohttpd hiredis

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_CFLAGS := $(shell pkg-config --cflags cmocka 2>/dev/null)
CMOCKA_LIBS   := $(shell pkg-config --libs cmocka 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
CFLAGS  ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(EXTRA_CFLAGS) $(PKG_CFLAGS) -Isrc -MMD -MP
ALL_LDFLAGS := $(LDFLAGS) $(EXTRA_LDFLAGS)
LIBS    := $(PKG_LIBS) -lutil -lpthread -lm

SRCS      := $(filter-out src/main.c,$(wildcard src/*.c))
OBJS      := $(SRCS:src/%.c=$(BUILD)/obj/%.o)
DEMO_SRCS := $(wildcard src/demo/*.c)
DEMO_OBJS := $(DEMO_SRCS:src/%.c=$(BUILD)/obj/%.o)
MAIN_OBJ  := $(BUILD)/obj/main.o
LIB       := $(BUILD)/libtokmux.a
DEMO_LIB  := $(BUILD)/libtokmux-demo.a
BIN       := $(BUILD)/tokmux
TEST_SRCS := $(wildcard tests/test_*.c tests/demo/test_*.c)
TEST_OBJS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%.o)
TEST_BINS := $(addprefix $(BUILD)/tests/,$(basename $(notdir $(TEST_SRCS))))
DEMO_TEST_BINS := $(addprefix $(BUILD)/tests/,$(basename $(notdir $(wildcard tests/demo/test_*.c))))

SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

.PHONY: all tests-build unit unit-asan test test-shell clang bench demo install uninstall clean deps

all: $(if $(wildcard src/main.c),$(BIN),$(LIB))

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# (rebuilt when the Makefile changes: a module that moved must leave the archive)
$(LIB): $(OBJS) Makefile
	@rm -f $@
	ar rcs $@ $(OBJS)

# The demo tooling links against the product library, never the reverse:
# the check fails when libtokmux.a needs a symbol only libtokmux-demo.a has.
$(DEMO_LIB): $(DEMO_OBJS) $(LIB) Makefile
	@rm -f $@
	ar rcs $@ $(DEMO_OBJS)
	@bad=$$(comm -12 <(nm -u $(LIB) | awk 'NF == 2 { print $$2 }' | sort -u) \
	  <(nm -g --defined-only $(DEMO_LIB) | awk 'NF == 3 { print $$3 }' | sort -u)); \
	  if [ -n "$$bad" ]; then echo "libtokmux.a depends on the demo tooling: $$bad" >&2; \
	  rm -f $@; exit 1; fi

$(BIN): $(MAIN_OBJ) $(DEMO_LIB) $(LIB)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(MAIN_OBJ) $(DEMO_LIB) $(LIB) $(LIBS)

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CMOCKA_CFLAGS) -Itests -c $< -o $@

# Every test binary lands in $(BUILD)/tests/. Every test may use the mock
# provider (the gateway tests do), so every test links the demo archive in
# front of the product library.
$(filter-out $(DEMO_TEST_BINS),$(TEST_BINS)): $(BUILD)/tests/%: $(BUILD)/tests/%.o $(DEMO_LIB) $(LIB)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(DEMO_LIB) $(LIB) $(CMOCKA_LIBS) $(LIBS)

$(DEMO_TEST_BINS): $(BUILD)/tests/%: $(BUILD)/tests/demo/%.o $(DEMO_LIB) $(LIB)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(DEMO_LIB) $(LIB) $(CMOCKA_LIBS) $(LIBS)

tests-build: $(TEST_BINS)

# Unit tests: every tests/test_*.c is one cmocka binary.
unit: $(TEST_BINS) $(if $(wildcard src/main.c),$(BIN))
	@bash tests/unit.sh $(BUILD) $(if $(EXTRA_CFLAGS),unit-asan,unit)

# The same unit tests under AddressSanitizer + UBSan, in their own build tree.
unit-asan:
	$(MAKE) BUILD=build/asan EXTRA_CFLAGS="$(SAN_FLAGS)" EXTRA_LDFLAGS="$(SAN_FLAGS)" unit

# Warnings-as-errors build with clang (compile and link only).
clang:
	$(MAKE) BUILD=build/clang CC=clang all tests-build

# Integration and UI tests: shell scripts driving the real binary.
test-shell: $(BIN)
	@bash tests/run.sh

# Sequential phases (each may build in parallel); the last line sums them up.
test:
	@mkdir -p $(BUILD)
	$(MAKE) unit 2>&1 | tee $(BUILD)/test-unit.log; test $${PIPESTATUS[0]} -eq 0
	$(MAKE) unit-asan 2>&1 | tee $(BUILD)/test-asan.log; test $${PIPESTATUS[0]} -eq 0
	$(MAKE) clang
	$(MAKE) fuzz-test 2>&1 | tee $(BUILD)/test-fuzz.log; test $${PIPESTATUS[0]} -eq 0
	$(MAKE) test-shell 2>&1 | tee $(BUILD)/test-shell.log; test $${PIPESTATUS[0]} -eq 0
	@cat $(BUILD)/test-unit.log $(BUILD)/test-asan.log $(BUILD)/test-fuzz.log $(BUILD)/test-shell.log | \
	  awk '/^(unit|unit-asan|fuzz|shell): [0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$$/ \
	  { p += $$2; f += $$4; s += $$6 } \
	  END { printf "total: %d passed, %d failed, %d skipped\n", p, f, s; exit f > 0 }'

bench: $(BIN)
	bash scripts/deps.sh --bench
	@bash bench/run.sh

demo: deps
	$(MAKE) all
	./$(BIN) demo

deps:
	bash scripts/deps.sh

install: $(if $(wildcard src/main.c),$(BIN),$(LIB))
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/tokmux/themes
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/tokmux
	if [ -f docs/tokmux.1 ]; then install -m 644 docs/tokmux.1 $(DESTDIR)$(PREFIX)/share/man/man1/tokmux.1; fi
	for f in themes/*.json; do [ -f "$$f" ] && install -m 644 "$$f" $(DESTDIR)$(PREFIX)/share/tokmux/themes/ || true; done

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/tokmux $(DESTDIR)$(PREFIX)/share/man/man1/tokmux.1
	rm -rf $(DESTDIR)$(PREFIX)/share/tokmux

clean:
	rm -rf build

# ---- fuzzing (fuzz/README.md): every fuzz/fuzz_NAME.c is a libFuzzer target,
# built by clang with ASan + UBSan against its own instrumented build/fuzz/.
# `make fuzz` runs each for FUZZ_SECONDS; `make fuzz-test`, a phase of
# `make test`, replays each committed corpus fuzz/corpus/NAME, then fuzzes
# FUZZ_CHECK_SECONDS more.
FUZZ_SECONDS ?= 60
FUZZ_CHECK_SECONDS ?= 10
FUZZ_SAN := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FUZZ_BINS := $(patsubst fuzz/%.c,build/fuzz/bin/%,$(wildcard fuzz/fuzz_*.c))

.PHONY: fuzz fuzz-test fuzz-build

fuzz-build:
	$(MAKE) BUILD=build/fuzz CC=clang EXTRA_CFLAGS="$(FUZZ_SAN)" EXTRA_LDFLAGS="$(FUZZ_SAN)" $(FUZZ_BINS)

$(BUILD)/bin/fuzz_%: fuzz/fuzz_%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $< $(LIB) $(LIBS)

fuzz: fuzz-build
	@bash fuzz/run.sh run $(FUZZ_SECONDS) $(FUZZ_BINS)

fuzz-test: fuzz-build
	@bash fuzz/run.sh check $(FUZZ_CHECK_SECONDS) $(FUZZ_BINS)
# ---- end of fuzzing ----

-include $(OBJS:.o=.d) $(DEMO_OBJS:.o=.d) $(MAIN_OBJ:.o=.d) $(TEST_OBJS:.o=.d)

# keep test objects (they are intermediates of the test binaries)
.SECONDARY:
