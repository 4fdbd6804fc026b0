// Runs C++ for a JS caller: a webaccel::Error (or any exception) becomes a thrown JS Error whose
// `kind` is io/format/input/internal, or 'gpu-lost' for gpu::DeviceLost.
#pragma once

#include <emscripten/val.h>

#include <exception>
#include <new>
#include <string>

#include "core/error.h"
#include "gpu/device.h"

namespace webaccel::wasm {

inline const char* kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kUsage: case ErrorKind::kInput: return "input";
    case ErrorKind::kIo: return "io";
    case ErrorKind::kFormat: return "format";
    case ErrorKind::kInternal: return "internal";
  }
  return "internal";
}

// Runs f; a C++ exception becomes a thrown JS Error after every C++ local has been destroyed.
template <typename F>
auto guarded(F&& f) -> decltype(f()) {
  std::string message, kind;
  try {
    return f();
  } catch (const gpu::DeviceLost& e) {
    message = e.what();
    kind = "gpu-lost";
  } catch (const Error& e) {
    message = e.what();
    kind = kind_name(e.kind());
  } catch (const std::bad_alloc&) {
    message = "out of memory (the wasm heap is limited to 4 GiB, and by the browser)";
    kind = "io";
  } catch (const std::exception& e) {
    message = e.what();
    kind = "internal";
  }
  emscripten::val error = emscripten::val::global("Error").new_(message);
  error.set("kind", kind);
  error.throw_();
}

}  // namespace webaccel::wasm
