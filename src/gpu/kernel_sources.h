// The WGSL kernel families of src/gpu/wgsl/, embedded at build time (cmake/EmbedWgsl.cmake).
#pragma once

#include <string_view>
#include <vector>

namespace webaccel::gpu {

// The text of src/gpu/wgsl/<family>.wgsl, or empty when there is no such family.
std::string_view kernel_source(std::string_view family);
// Every embedded family name, sorted.
std::vector<std::string_view> kernel_families();

}  // namespace webaccel::gpu
