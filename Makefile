# tokmux build. Every dependency is found through pkg-config.
# Sources are discovered: src/*.c (main.c is the program entry), tests/test_*.c.

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
MAIN_OBJ  := $(BUILD)/obj/main.o
LIB       := $(BUILD)/libtokmux.a
BIN       := $(BUILD)/tokmux
TEST_SRCS := $(wildcard tests/test_*.c)
TEST_BINS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)

SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

.PHONY: all tests-build unit unit-asan test test-shell clang bench demo install uninstall clean deps

all: $(if $(wildcard src/main.c),$(BIN),$(LIB))

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(MAIN_OBJ) $(LIB)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(MAIN_OBJ) $(LIB) $(LIBS)

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CMOCKA_CFLAGS) -Itests -c $< -o $@

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(LIB)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(CMOCKA_LIBS) $(LIBS)

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
	$(MAKE) test-shell 2>&1 | tee $(BUILD)/test-shell.log; test $${PIPESTATUS[0]} -eq 0
	@cat $(BUILD)/test-unit.log $(BUILD)/test-asan.log $(BUILD)/test-shell.log | \
	  awk '/^(unit|unit-asan|shell): [0-9]+ passed, [0-9]+ failed$$/ { p += $$2; f += $$4 } \
	  END { printf "total: %d passed, %d failed\n", p, f; exit f > 0 }'

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

-include $(OBJS:.o=.d) $(MAIN_OBJ:.o=.d) $(TEST_BINS:=.d)

# keep test objects (they are intermediates of the test binaries)
.SECONDARY:
