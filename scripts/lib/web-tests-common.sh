# Shared by run_web_platform_tests.sh and run_integrated_web_tests.sh (sourced, not run).
# Flags and environment variables of the guide whose feature is not built are errors, never ignored.

WEBACCEL_BIN=${WEBACCEL_BIN:-build/release/webaccel}

die() {  # message [exit code]
  echo "$(basename "$0"): error: $1" >&2
  exit "${2:-2}"
}

from_caller() {  # a path as the caller meant it (the scripts cd to the source tree); URLs unchanged
  case "$1" in /*|postgresql://*|postgres://*) echo "$1" ;; *) echo "$caller/$1" ;; esac
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
WEB_PARALLEL_LOADING_ENABLED|0|parallel component loading belongs to the progressive loader (src/loader/), not built
WEBGPU_SHADER_PRECOMPILE_ENABLED|0|no WebGPU backend yet, so no shaders to precompile
WEBGPU_MEMORY_OPTIMIZATIONS|0|no WebGPU backend yet
WEBGPU_MEMORY_LIMIT|4000|memory budgets belong to the progressive loader (src/loader/), not built
WEBGPU_FLASH_ATTENTION|0|no WebGPU backend yet (the CPU attention already streams over key tiles)
SAFARI_SUPPORT_ENABLED|0|Safari cannot run on this Linux machine; its profile is not built
SAFARI_VERSION|17.4|Safari cannot run on this Linux machine
SAFARI_METAL_OPTIMIZATIONS|0|no Metal/WebGPU backend yet
WEBGPU_BROWSER_CAPABILITY_AUTO|0|browser capability detection (src/platform/) is not built
WEBGPU_ADAPTIVE_PRECISION|0|adaptive precision is not wired into the benchmark runner yet
WEBGPU_PROGRESSIVE_MODEL_LOADING|0|the progressive loader (src/loader/) is not built
LIST
  local v
  for v in WEBGPU_COMPUTE_SHADERS_ENABLED WEBGPU_WASM_FALLBACK; do
    case "${!v:-0}" in 0|1) ;; *) die "$v=${!v}: expected 0 or 1" ;; esac
  done
  case "${DEPRECATE_JSON_OUTPUT:-0}" in 0|1) ;; *) die "DEPRECATE_JSON_OUTPUT=$DEPRECATE_JSON_OUTPUT: expected 0 or 1" ;; esac
}

# Flags of the guide that name features not built yet; the reason is printed with the error.
unbuilt_flag_reason() {
  case "$1" in
    --all-optimizations|--june-2025-features|--july-2025-features)
      echo "it switches on WebGPU, browser and loader features that are not built; name the flags you want instead" ;;
    --enable-shader-precompile) echo "pipelines are always precompiled at load (webaccel generate --lazy-pipelines is the other way); no switch in the runner yet" ;;
    --enable-flash-attention) echo "no WebGPU flash-attention kernel exists (the CPU attention already streams over key tiles)" ;;
    --enable-metal-optimizations|--metal-optimizations) echo "Metal cannot run on this Linux machine" ;;
    --enable-parallel-loading|--enable-progressive-loading|--enable-progressive-tensors|--memory-limit)
      echo "the progressive loader (src/loader/) is not built" ;;
    --adaptive-precision)
      echo "adaptive precision (webaccel quantize --adaptive) is not wired into the benchmark runner yet" ;;
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

# --browser chrome|chromium|firefox (comma list) -> the bench's host names.
map_browsers() {
  local out=() b
  IFS=, read -ra list <<<"$1"
  ((${#list[@]})) || die "--browser: empty list"
  for b in "${list[@]}"; do
    case "$b" in
      chrome|chromium) out+=(chromium) ;;  # Debian's Chromium: the Chrome engine that runs here
      firefox) out+=(firefox) ;;            # Firefox ESR
      edge) die "--browser edge: Microsoft Edge cannot run on this Linux machine (--browser chrome runs Debian's Chromium, the same engine)" ;;
      safari) die "--browser safari: Safari cannot run on this Linux machine" ;;
      *) die "--browser $b: unknown browser (known: chrome or chromium, firefox)" ;;
    esac
  done
  (IFS=,; echo "${out[*]}")
}

# The guide's backend switches -> webaccel bench --backends. WebGPU runs natively (the CLI's
# --backend webgpu) or in each --browser; the wasm build in Node or in each --browser.
#   no flags: the native CPU; --browser alone: wasm and WebGPU in it
#   --enable-compute-shaders: WebGPU;  --enable-wasm-fallback: wasm, and WebGPU unless --disable-webgpu
#   --enable-simd: the wasm build (always SIMD128), so only with --enable-wasm-fallback
# WEBGPU_COMPUTE_SHADERS_ENABLED=1 and WEBGPU_WASM_FALLBACK=1 act as their flags.
backends_for() {  # browsers(comma list or '') wasm webgpu_on webgpu_off simd (0/1 each)
  local browsers=$1 wasm=$2 gpu_on=$3 gpu_off=$4 simd=$5
  [[ "${WEBGPU_COMPUTE_SHADERS_ENABLED:-0}" == 1 ]] && gpu_on=1
  [[ "${WEBGPU_WASM_FALLBACK:-0}" == 1 ]] && wasm=1
  ((gpu_on && gpu_off)) && die "--enable-compute-shaders and --disable-webgpu contradict each other"
  ((simd && !wasm)) && die "--enable-simd: the wasm build is always SIMD128; it applies with --enable-wasm-fallback"
  [[ -z "$browsers" ]] && ((gpu_off && !wasm)) && die "--disable-webgpu: nothing would run WebGPU here (use it with --browser or --enable-wasm-fallback)"
  local use_wasm=$wasm use_gpu=$gpu_on
  if [[ -n "$browsers" ]] && ((!wasm && !gpu_on)); then use_wasm=1; fi
  if ((!gpu_off)) && { ((wasm)) || { [[ -n "$browsers" ]] && ((!gpu_on)); }; }; then use_gpu=1; fi
  local out=() host
  if [[ -z "$browsers" ]]; then
    ((use_wasm)) && out+=(wasm@node)
    ((use_gpu)) && out+=(webgpu)
    ((${#out[@]})) || out+=(cpu)
  else
    IFS=, read -ra hosts <<<"$browsers"
    for host in "${hosts[@]}"; do
      ((use_wasm)) && out+=("wasm@$host")
      ((use_gpu)) && out+=("webgpu@$host")
    done
  fi
  (IFS=,; echo "${out[*]}")
}

require_bin() {
  [[ -x "$WEBACCEL_BIN" ]] || die "$WEBACCEL_BIN: not built (run make build, or set WEBACCEL_BIN)" 3
}
