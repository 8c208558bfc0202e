# hotstandby: the two commands of the README, plus the pieces they are made of.
#   make demo   set up everything on a fresh Debian 12 machine, build, run the two-node demo
#   make test   set up everything, build, run every test (release, then ASan/UBSan, then fuzz)
#   make package  the Debian package, $(BUILD)/hotstandby_VERSION_ARCH.deb (docs/install.md)
SHELL := /bin/bash
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS ?= $(shell nproc)
GEN := $(shell command -v ninja >/dev/null 2>&1 && echo -G Ninja)
FUZZ_SECONDS ?= 40

.PHONY: all deps build test test-release test-asan fuzz demo bench clean format lint package

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@[ -f $(BUILD)/CMakeCache.txt ] || cmake -S . -B $(BUILD) $(GEN) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j $(JOBS)

test: build
	@scripts/run-tests.sh

package: build
	cmake --build $(BUILD) --target package

demo: build
	@scripts/demo.sh

bench: build
	@scripts/bench.sh

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp' '*.c' '*.h')

# clang-tidy over every room, as `make test` runs it (docs/style.md).
lint:
	@BUILD=$(BUILD) JOBS=$(JOBS) scripts/tidy.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
