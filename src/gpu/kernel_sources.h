// The WGSL kernel families of src/gpu/wgsl/, embedded at build time (cmake/EmbedWgsl.cmake).
#pragma once

#include <string_view>
#include <vector>

namespace webaccel::gpu {

// The text of src/gpu/wgsl/<family>.wgsl, or empty when there is no such family. Natively, a file
// <family>.wgsl in $WEBACCEL_WGSL_DIR replaces the embedded text (kernel work without rebuilding).
std::string_view kernel_source(std::string_view family);
// The text embedded at build time (cmake/EmbedWgsl.cmake generates it).
std::string_view embedded_kernel_source(std::string_view family);
// Every embedded family name, sorted.
std::vector<std::string_view> kernel_families();

}  // namespace webaccel::gpu
