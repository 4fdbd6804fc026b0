# Sourced by the bench/gpu run scripts on a GPU machine (bare: no Vulkan loader, no network):
# unpacks the carried loader and glvnd debs (.gl, docs/gpu.md) where absent, points the loader at
# NVIDIA's ICD where it would find none, and sets wgpu-native from the carried folder $1.
gpu_machine_env() {
  local carry=$1
  if ! ldconfig -p | grep -q 'libGLX.so.0'; then  # NVIDIA's ICD needs glvnd too
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
  fi
  local nv=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if [[ -f $nv && -z ${VK_DRIVER_FILES:-} ]]; then export VK_DRIVER_FILES=$nv; fi
  export LD_LIBRARY_PATH=$carry/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  export WEBACCEL_WGPU_LIB=$carry/lib/libwgpu_native.so
}
