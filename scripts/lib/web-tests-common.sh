# Shared by run_web_platform_tests.sh and run_integrated_web_tests.sh (sourced, not run).
# Flags and environment variables of the guide whose feature is not built are errors, never ignored.

WEBACCEL_BIN=${WEBACCEL_BIN:-build/release/webaccel}

die() {  # message [exit code]
  echo "$(basename "$0"): error: $1" >&2
  exit "${2:-2}"
}

not_built() {  # flag-or-variable reason
  die "$1: not available yet: $2" 2
}

# The guide names model families; map the ones with real weights here, refuse the others.
map_model() {
  case "$1" in
    smollm2|llama) echo smollm2 ;;
    minilm|bert) echo minilm ;;
    all) echo all ;;
    t5|whisper|vit|clip|llava|xclip|wav2vec2|clap|qwen|detr|mistral)
      die "--model $1: no $1 weights are available to this project (models: smollm2 = llama, minilm = bert)" ;;
    *) die "--model $1: unknown model (known: smollm2 or llama, minilm or bert, all)" ;;
  esac
}

map_models() {  # comma list
  local out=() m
  IFS=, read -ra list <<<"$1"
  ((${#list[@]})) || die "--models: empty list"
  for m in "${list[@]}"; do out+=("$(map_model "$m")"); done
  (IFS=,; echo "${out[*]}")
}

# The guide's feature switches: any non-default value asks for a feature that does not exist yet.
check_feature_env() {
  local var default reason
  while IFS='|' read -r var default reason; do
    [[ -z "$var" ]] && continue
    local value=${!var-}
    if [[ -n "$value" && "$value" != "$default" ]]; then
      not_built "$var=$value" "$reason"
    fi
  done <<'LIST'
WEBGPU_COMPUTE_SHADERS_ENABLED|0|no WebGPU backend yet (src/gpu/)
WEB_PARALLEL_LOADING_ENABLED|0|parallel component loading belongs to the progressive loader (src/loader/), not built
WEBGPU_SHADER_PRECOMPILE_ENABLED|0|no WebGPU backend yet, so no shaders to precompile
WEBGPU_MEMORY_OPTIMIZATIONS|0|no WebGPU backend yet
WEBGPU_MEMORY_LIMIT|4000|memory budgets belong to the progressive loader (src/loader/), not built
WEBGPU_FLASH_ATTENTION|0|no WebGPU backend yet (the CPU attention already streams over key tiles)
SAFARI_SUPPORT_ENABLED|0|Safari cannot run on this Linux machine; its profile is not built
SAFARI_VERSION|17.4|Safari cannot run on this Linux machine
SAFARI_METAL_OPTIMIZATIONS|0|no Metal/WebGPU backend yet
WEBGPU_WASM_FALLBACK|0|the wasm build is not wired into the benchmark runner yet
WEBGPU_BROWSER_CAPABILITY_AUTO|0|browser capability detection (src/platform/) is not built
WEBGPU_ADAPTIVE_PRECISION|0|adaptive precision is not wired into the benchmark runner yet
WEBGPU_PROGRESSIVE_MODEL_LOADING|0|the progressive loader (src/loader/) is not built
LIST
  case "${DEPRECATE_JSON_OUTPUT:-0}" in 0|1) ;; *) die "DEPRECATE_JSON_OUTPUT=$DEPRECATE_JSON_OUTPUT: expected 0 or 1" ;; esac
}

# Flags of the guide that name features not built yet; the reason is printed with the error.
unbuilt_flag_reason() {
  case "$1" in
    --browser) echo "browser runs need the wasm/WebGPU runtime in the runner (web/); only native CPU runs exist" ;;
    --all-optimizations|--june-2025-features|--july-2025-features)
      echo "it switches on WebGPU, browser and loader features that are not built; name the flags you want instead" ;;
    --enable-compute-shaders|--enable-shader-precompile|--enable-flash-attention|--disable-webgpu|--enable-metal-optimizations|--metal-optimizations)
      echo "no WebGPU backend yet (src/gpu/)" ;;
    --enable-parallel-loading|--enable-progressive-loading|--enable-progressive-tensors|--memory-limit)
      echo "the progressive loader (src/loader/) is not built" ;;
    --adaptive-precision)
      echo "adaptive precision (webaccel quantize --adaptive) is not wired into the benchmark runner yet" ;;
    --enable-wasm-fallback|--enable-simd)
      echo "the wasm build is not wired into the benchmark runner yet (native CPU always uses SIMD)" ;;
    --safari-support|--safari-version) echo "Safari cannot run on this Linux machine" ;;
    --enable-browser-detection) echo "browser capability detection (src/platform/) is not built" ;;
    *) return 1 ;;
  esac
}

# --enable-ultra-low-precision [--bits 2|3] and --enable-4bit -> webaccel bench --precisions:
# the stored model plus the quantized variants, each measured and (quantized) evaluated.
# WEBGPU_ULTRA_LOW_PRECISION=1 acts as the flag; WEBGPU_QUANTIZATION_BITS gives the bits.
precisions_for() {  # ulp(0/1) bits('' = unset) four(0/1)
  local ulp=$1 bits=$2 four=$3 out=stored
  [[ "${WEBGPU_ULTRA_LOW_PRECISION:-0}" == 1 ]] && ulp=1
  case "${WEBGPU_ULTRA_LOW_PRECISION:-0}" in 0|1) ;; *) die "WEBGPU_ULTRA_LOW_PRECISION=$WEBGPU_ULTRA_LOW_PRECISION: expected 0 or 1" ;; esac
  [[ -z "$bits" && -n "${WEBGPU_QUANTIZATION_BITS:-}" ]] && bits=$WEBGPU_QUANTIZATION_BITS
  if ((ulp)); then
    bits=${bits:-2}
    [[ "$bits" == 2 || "$bits" == 3 ]] || die "--bits $bits: ultra-low precision is 2 or 3 bits (use --enable-4bit for 4)"
    out+=",wq$bits"
  elif [[ -n "$2" ]]; then
    die "--bits needs --enable-ultra-low-precision"
  fi
  ((four)) && out+=",wq4"
  echo "$out"
}

require_bin() {
  [[ -x "$WEBACCEL_BIN" ]] || die "$WEBACCEL_BIN: not built (run make build, or set WEBACCEL_BIN)" 3
}
