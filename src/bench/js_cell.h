// A cell of the wasm build in Node or a browser, or of WebGPU in a browser: run by the driver
// bench/cells/run_cell.mjs, which loads the model through the JS API (web/src/index.js) or the
// Node host (web/node.mjs) and reports the same clock readings as the native runner.
#pragma once

#include "bench/measurement.h"

namespace webaccel::bench {

struct Cell;
void run_js_cell(const Cell& c, Measurement& m);

}  // namespace webaccel::bench
