# The README's two commands: `make demo` and `make test`. Each runs scripts/setup first.
.PHONY: setup build build-asan demo test test-release test-asan fuzz bench goldens clean

JOBS ?= 2

setup:
	scripts/setup

build:
	scripts/setup --no-models
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)

build-asan:
	scripts/setup --no-models
	cmake --preset asan >/dev/null
	cmake --build --preset asan -j $(JOBS)

demo: setup build
	scripts/demo

# The whole suite, optimized and then under AddressSanitizer + UndefinedBehaviorSanitizer.
test: setup build build-asan
	ctest --preset release --output-on-failure
	ctest --preset asan --output-on-failure

fuzz:
	scripts/setup
	scripts/run-fuzzers $(or $(SECONDS_EACH),60)

bench: setup build
	bench/run_native_bench.sh

goldens:
	scripts/make-goldens

clean:
	rm -rf build
