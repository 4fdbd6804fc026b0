#!/usr/bin/env bash
# On a GPU machine without Node or network, from the repo root: the wasm build on Dawn (npm `webgpu`,
# Chromium's WebGPU implementation) on the real GPU, first inference with precompiled vs lazy
# pipelines and decode speed (bench/gpu/node_dawn_bench.mjs). Carry .gl (Vulkan loader + glvnd
# debs) and the folder made here by bench/gpu/pack_node_dawn.sh. Writes the table
# (node_dawn_bench.txt) and the JSON (node_dawn_bench.json) into $OUT.
# Env: CARRY (default build/node-dawn-carry), SHAPES (smollm2), BITS (4,2,3,8), ROUNDS (3),
# PROMPT (8), TOKENS (32), BENCH_ARGS (more options, e.g. --fallback for a software adapter).
set -euo pipefail
cd "$(dirname "$0")/../.."
carry=${CARRY:-build/node-dawn-carry}
out=${OUT:-/tmp/node-dawn-out}
[[ -f $carry/node.xz ]] || { echo "run_node_dawn.sh: $carry/node.xz missing (run bench/gpu/pack_node_dawn.sh and carry $carry)" >&2; exit 1; }
mkdir -p "$out"

if ! ldconfig -p | grep -q 'libvulkan.so.1' || ! ldconfig -p | grep -q 'libGLX.so.0'; then  # a bare machine: Vulkan loader + glvnd (NVIDIA's ICD needs it)
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
nv=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [[ -z ${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-} && -f $nv ]] && ! ls /usr/share/vulkan/icd.d/*nvidia* /etc/vulkan/icd.d/*nvidia* >/dev/null 2>&1; then
  export VK_DRIVER_FILES=$nv
fi
export __GL_SHADER_DISK_CACHE=0  # lazy compilation must really compile, not hit the driver's cache

# Unpacked under /tmp: the carried folder may be read-only, and dawn.node must sit in its package.
work=/tmp/webaccel-node-dawn
rm -rf "$work" && cp -r "$carry" "$work"
unpack() {  # file.xz -> file (python3's lzma where xz is absent)
  if command -v unxz >/dev/null; then unxz -f "$1"
  else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[1][:-3], "wb"))' "$1" && rm "$1"; fi
}
unpack "$work/node.xz"
unpack "$work/node_modules/webgpu/dist/linux-x64/dawn.node.xz"
chmod +x "$work/node"
# dawn.node needs GLIBCXX_3.4.30 (GCC 12's libstdc++): the carried one where the system's is older.
sys_cxx=$(ldconfig -p | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}')
if [[ -z $sys_cxx ]] || ! grep -qa GLIBCXX_3.4.30 "$sys_cxx"; then
  export LD_LIBRARY_PATH=$work/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  echo "run_node_dawn.sh: using the carried libstdc++ (system: ${sys_cxx:-none})"
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt" || true

# shellcheck disable=SC2086  # BENCH_ARGS is a list of options
"$work/node" --no-experimental-fetch "$work/bench/gpu/node_dawn_bench.mjs" --shape "${SHAPES:-smollm2}" \
  --bits "${BITS:-4,2,3,8}" --rounds "${ROUNDS:-3}" --prompt "${PROMPT:-8}" --tokens "${TOKENS:-32}" \
  --json "$out/node_dawn_bench.json" ${BENCH_ARGS:-} 2>&1 | tee "$out/node_dawn_bench.txt"
exit "${PIPESTATUS[0]}"
