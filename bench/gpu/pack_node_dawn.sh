#!/usr/bin/env bash
# Collects what a GPU machine without Node or network needs to run bench/gpu/node_dawn_bench.mjs
# (the wasm build on Dawn through npm `webgpu`) into one folder the device tool carries:
#   node.xz                         Debian's /usr/bin/node (links only glibc and libstdc++)
#   lib/                            libstdc++ and libgcc_s of this machine: dawn.node needs GLIBCXX_3.4.30,
#                                   used by run_node_dawn.sh only where the GPU machine's is older
#   node_modules/webgpu/            package.json, index.js, dist/linux-x64/dawn.node.xz
#   web/                            node.mjs and what it imports, dist/webaccel-st.{js,wasm}
#   bench/gpu/node_dawn_bench.mjs
# Usage: bench/gpu/pack_node_dawn.sh [--wasm-build DIR (default build/wasm)] [--out DIR (default build/node-dawn-carry)]
# The wasm build must contain dist/webaccel-st.{js,wasm}: make wasm, or
#   NODE_PATH=/usr/share/nodejs emcmake cmake -S src/wasm -B DIR -G Ninja && cmake --build DIR --target webaccel-st
set -euo pipefail
cd "$(dirname "$0")/../.."
wasm_build=build/wasm
out=build/node-dawn-carry
while [[ $# -gt 0 ]]; do
  case $1 in
    --wasm-build) wasm_build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "pack_node_dawn.sh: unknown option '$1' (--wasm-build DIR, --out DIR)" >&2; exit 2 ;;
  esac
done
webgpu=tests/browser/node_modules/webgpu
for f in "$wasm_build/dist/webaccel-st.js" "$wasm_build/dist/webaccel-st.wasm" "$webgpu/dist/linux-x64/dawn.node" /usr/bin/node; do
  [[ -f $f ]] || { echo "pack_node_dawn.sh: $f missing (make wasm; npm ci --prefix tests/browser; apt-get install nodejs)" >&2; exit 1; }
done
grep -qa GpuDecodeBench "$wasm_build/dist/webaccel-st.wasm" ||
  { echo "pack_node_dawn.sh: $wasm_build/dist/webaccel-st.wasm has no GpuDecodeBench (built before f06996d: rebuild it)" >&2; exit 1; }
[[ $(/usr/bin/node --version) == v20.* ]] || echo "pack_node_dawn.sh: warning: /usr/bin/node is $(/usr/bin/node --version), not Node 20" >&2

# xz: compressed once, kept while the source is unchanged (node takes a minute at -9).
compress() {  # source, destination
  if [[ ! -f $2 || $1 -nt $2 ]]; then nice -n 10 xz -T2 -9 -c "$1" > "$2.partial" && mv "$2.partial" "$2"; fi
}
mkdir -p "$out"
find "$out" -mindepth 1 -maxdepth 1 ! -name node.xz ! -name node_modules -exec rm -rf {} +
compress /usr/bin/node "$out/node.xz"
mkdir -p "$out/node_modules/webgpu/dist/linux-x64"
cp "$webgpu/package.json" "$webgpu/index.js" "$webgpu/LICENSE.md" "$out/node_modules/webgpu/"
compress "$webgpu/dist/linux-x64/dawn.node" "$out/node_modules/webgpu/dist/linux-x64/dawn.node.xz"

mkdir -p "$out/lib"
for lib in libstdc++.so.6 libgcc_s.so.1; do cp -L "$(ldd /usr/bin/node | awk -v l="$lib" '$1 == l {print $3}')" "$out/lib/"; done

# The web host: node.mjs and the modules it imports (./src/*.js, one level: they import each other only).
mkdir -p "$out/web/src" "$out/web/dist" "$out/bench/gpu"
cp web/node.mjs web/package.json "$out/web/"
for m in $(grep -ho "from '\./src/[a-z_]*\.js'" web/node.mjs | sed "s/from '\.\/\(.*\)'/\1/" | sort -u); do
  cp "web/$m" "$out/web/src/"
  for dep in $(grep -ho "from '\./[a-z_]*\.js'" "web/$m" | sed "s/from '\.\/\(.*\)'/\1/"); do cp "web/src/$dep" "$out/web/src/"; done
done
cp "$wasm_build/dist/webaccel-st.js" "$wasm_build/dist/webaccel-st.wasm" "$out/web/dist/"
echo '{"type": "commonjs"}' > "$out/web/dist/package.json"  # Emscripten's output is CommonJS; web/ is ESM
cp bench/gpu/node_dawn_bench.mjs "$out/bench/gpu/"

bytes=$(du -sb "$out" | cut -f1)
echo "$out: $(numfmt --to=iec-i --suffix=B "$bytes") ($bytes bytes; the limit is 40 MiB)"
((bytes < 40 * 1024 * 1024)) || { echo "pack_node_dawn.sh: $out is over 40 MiB" >&2; exit 1; }
