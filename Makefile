# The README's two commands: `make demo` and `make test`. Each runs scripts/setup first.
.PHONY: setup build build-asan wasm bench-browser demo test test-release test-asan fuzz bench goldens clean

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

# The WebAssembly build (Emscripten): web/dist/webaccel-{st,mt}[-relaxed].{js,wasm} for the browser and Node
# hosts (the -relaxed builds use relaxed SIMD; the JS loaders pick them where a probe passes).
# NODE_PATH: Debian's Emscripten finds acorn there (node-acorn).
wasm:
	scripts/setup --no-models
	[ -d tests/browser/node_modules/webgpu ] || npm ci --prefix tests/browser --no-audit --no-fund --silent  # Node + Dawn for the GPU tests
	NODE_PATH=/usr/share/nodejs emcmake cmake -S src/wasm -B build/wasm -G Ninja >/dev/null
	NODE_PATH=/usr/share/nodejs cmake --build build/wasm -j $(JOBS)
	mkdir -p web/dist && cp build/wasm/dist/webaccel-st* build/wasm/dist/webaccel-mt* web/dist/
	echo '{"type": "commonjs"}' > web/dist/package.json  # Emscripten's output is CommonJS; web/ is ESM

demo: setup build
	scripts/demo

# The whole suite, optimized and then under AddressSanitizer + UndefinedBehaviorSanitizer.
test: setup build build-asan wasm
	ctest --preset release --output-on-failure
	ctest --preset asan --output-on-failure

fuzz:
	scripts/setup
	scripts/run-fuzzers $(or $(SECONDS_EACH),60)

bench: setup build
	bench/run_native_bench.sh

# webaccel in Chromium vs wllama and transformers.js, and vs the native CLI (docs/benchmarks.md).
bench-browser: setup build wasm
	scripts/setup-peers
	[ -f models/minilm-onnx/onnx/model.onnx ] || .venv-peers/bin/python bench/export_minilm_onnx.py
	WEBACCEL_BIN=build/release/webaccel node bench/browser/run_bench.mjs --threads 1,2

goldens:
	scripts/make-goldens

clean:
	rm -rf build
