// gemv.wgsl's per-thread input where the device has no packed 4x8 integer dot product: each
// thread's units of x kept as f32 in registers, each weight decoded to f32 (4 ops per weight).
struct ThreadX {
  xs: UnitX,
  sum: vec4<f32>,  // word sums (the m term)
}

fn thread_input(xs: UnitX) -> ThreadX { return ThreadX(xs, word_xsums(xs)); }

// Unit u of rows r (4 rows) dotted with the thread's x: one lane per row.
fn thread_unit_dot(w: Unit, r: vec4<u32>, u: u32, t: ThreadX) -> vec4<f32> { return unit_dot_x(w, r, u, t.xs, t.sum); }
