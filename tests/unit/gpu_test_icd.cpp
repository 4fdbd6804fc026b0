// Points this test binary's Vulkan loader at the software driver CMake chose (WEBACCEL_TEST_VK_ICD:
// lavapipe, or SwiftShader under ASan), before any test opens a device, unless VK_ICD_FILENAMES or
// VK_DRIVER_FILES is already set: the GPU tests then run on the same driver from CTest and a shell.
#include <cstdlib>

namespace {

const bool kIcdChosen = [] {
  const char* icd = WEBACCEL_TEST_VK_ICD;
  if (*icd && !std::getenv("VK_ICD_FILENAMES") && !std::getenv("VK_DRIVER_FILES")) setenv("VK_ICD_FILENAMES", icd, 0);
  return true;
}();

}  // namespace
