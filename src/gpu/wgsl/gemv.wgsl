// y(rows) = W x (+ bias) (+ y when accumulating) for one token and a quantized W (bits <= 8), on
// devices with subgroups. Composed by the C++ as: lib_reduce_subgroup.wgsl + lib_quant_decode.wgsl
// + lib_matmul_io.wgsl + lib_gemv_i8x.wgsl (x as int8, integer dots) or lib_gemv_f32x.wgsl (x as
// f32, float decode) + this file.
//
// Column-stationary: thread t owns units t, t + wg, ... (upt of them) of every row, so it reads
// its x once, keeps it in registers with its word sums, and then streams the rows of its
// workgroup's tile (4 * row_quads rows), 4 * step_quads rows per step with all their loads issued
// first (memory-level parallelism is what bounds a GEMV): per unit and row only the 16-byte codes
// and a scale are loaded, and consecutive threads read consecutive units (coalesced). matmul.wgsl
// reloads x for every four rows instead, with threads 128 bytes apart: that, not the weights, bound
// its speed. Each four rows' partial sums are reduced with one vec4 subgroupAdd; the subgroups'
// totals meet in workgroup memory once per tile. A workgroup takes one tile of rows, or with a
// capped grid (GemvTiling::grid) loops over tiles wid.x, wid.x + nwg.x, ...
override wg: u32 = 128;       // a power of two, >= units per row / upt
override upt: u32 = 1;        // units per thread and row: 1..4
override row_quads: u32 = 4;  // rows per workgroup / 4: a multiple of step_quads
override step_quads: u32 = 2; // quads whose loads are issued together: 1, 2 or 4 (loads in flight)
override hoist: bool = true;  // the first step's loads issued before x is prepared (when registers allow)
override prefetch: bool = false;  // each step's loads issued a step ahead (when registers allow)
// What the product's input is, computed as each thread reads its x (a dispatch and a round trip
// through memory saved per fused op):
//   0: x itself;  1: RMSNorm(x) * aux (p.x_eps);  2: SiLU(x[0, cols)) * x[cols, 2 cols) (gate | up)
override x_mode: u32 = 0;

@group(0) @binding(7) var<storage, read> aux: array<vec4<f32>>;  // x_mode 1: the norm weights (cols); else x again
var<workgroup> norm_partials: array<f32, 64>;  // x_mode 1: per-subgroup sums of squares

fn silu(g: vec4<f32>) -> vec4<f32> { return g / (1.0 + exp(-g)); }

// x_mode 2: vec4 k of the unit at xb, SiLU(gate) * up, or zero past the unit.
fn gated_at(xb: u32, k: u32) -> vec4<f32> {
  if (k < unit_w / 4u) { return silu(x[xb + k]) * x[p.cols / 4u + xb + k]; }
  return vec4<f32>(0.0);
}

fn gated_x(xb: u32) -> UnitX {
  return UnitX(gated_at(xb, 0u), gated_at(xb, 1u), gated_at(xb, 2u), gated_at(xb, 3u), gated_at(xb, 4u),
               gated_at(xb, 5u), gated_at(xb, 6u), gated_at(xb, 7u), gated_at(xb, 8u), gated_at(xb, 9u),
               gated_at(xb, 10u), gated_at(xb, 11u), gated_at(xb, 12u), gated_at(xb, 13u), gated_at(xb, 14u),
               gated_at(xb, 15u));
}

// The input of unit u (before RMSNorm's scale), or zeros past the row (the unit is then clamped
// to a real one and adds 0).
fn thread_x(u: u32, upr: u32) -> UnitX {
  var xs: UnitX;
  if (u < upr) {
    if (x_mode == 2u) {
      xs = gated_x(u * (unit_w / 4u));
    } else {
      xs = unit_x(u * (unit_w / 4u));
    }
  }
  return xs;
}

// Squares of vec4 k (k literal: the array stays in registers), zero past the unit.
fn sq_at(xs: UnitX, k: u32) -> vec4<f32> {
  if (k < unit_w / 4u) { return xs[k] * xs[k]; }
  return vec4<f32>(0.0);
}

fn sum_squares(xs: UnitX) -> f32 {
  let v = ((sq_at(xs, 0u) + sq_at(xs, 1u)) + (sq_at(xs, 2u) + sq_at(xs, 3u))) +
          ((sq_at(xs, 4u) + sq_at(xs, 5u)) + (sq_at(xs, 6u) + sq_at(xs, 7u))) +
          ((sq_at(xs, 8u) + sq_at(xs, 9u)) + (sq_at(xs, 10u) + sq_at(xs, 11u))) +
          ((sq_at(xs, 12u) + sq_at(xs, 13u)) + (sq_at(xs, 14u) + sq_at(xs, 15u)));
  return (v.x + v.y) + (v.z + v.w);
}

// x_mode 1: vec4 k of the unit at xb times the RMSNorm scale and weight, or zero past the unit.
fn normed_at(xs: UnitX, xb: u32, k: u32, scale: f32) -> vec4<f32> {
  if (k < unit_w / 4u) { return xs[k] * scale * aux[xb + k]; }
  return vec4<f32>(0.0);
}

fn normed(xs: UnitX, u: u32, upr: u32, scale: f32) -> UnitX {
  if (u >= upr) { return xs; }
  let xb = u * (unit_w / 4u);
  return UnitX(normed_at(xs, xb, 0u, scale), normed_at(xs, xb, 1u, scale), normed_at(xs, xb, 2u, scale),
               normed_at(xs, xb, 3u, scale), normed_at(xs, xb, 4u, scale), normed_at(xs, xb, 5u, scale),
               normed_at(xs, xb, 6u, scale), normed_at(xs, xb, 7u, scale), normed_at(xs, xb, 8u, scale),
               normed_at(xs, xb, 9u, scale), normed_at(xs, xb, 10u, scale), normed_at(xs, xb, 11u, scale),
               normed_at(xs, xb, 12u, scale), normed_at(xs, xb, 13u, scale), normed_at(xs, xb, 14u, scale),
               normed_at(xs, xb, 15u, scale));
}

// The 4 rows of quad q (clamped: a partial last tile repeats the last row, computed, never written).
fn quad_rows(row0: u32, q: u32) -> vec4<u32> {
  return min(vec4<u32>(row0 + 4u * q) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(p.n_rows - 1u));
}

// The thread's units (upt of them) of one quad's four rows: loaded together, used later.
struct QuadUnits {
  u0: Unit, u1: Unit, u2: Unit, u3: Unit,
}

fn thread_unit(lid: u32, c: u32, upr: u32) -> u32 { return min(lid + c * wg, upr - 1u); }

fn load_quad(r: vec4<u32>, upr: u32, lid: u32) -> QuadUnits {
  var q: QuadUnits;
  q.u0 = load_unit(r, upr, thread_unit(lid, 0u, upr));
  if (upt > 1u) { q.u1 = load_unit(r, upr, thread_unit(lid, 1u, upr)); }
  if (upt > 2u) { q.u2 = load_unit(r, upr, thread_unit(lid, 2u, upr)); }
  if (upt > 3u) { q.u3 = load_unit(r, upr, thread_unit(lid, 3u, upr)); }
  return q;
}

// The thread's part of the quad's four dot products (one lane per row).
fn quad_dot(q: QuadUnits, r: vec4<u32>, upr: u32, lid: u32, xa: ThreadX, xb: ThreadX, xc: ThreadX,
            xd: ThreadX) -> vec4<f32> {
  var acc = thread_unit_dot(q.u0, r, thread_unit(lid, 0u, upr), xa);
  if (upt > 1u) { acc += thread_unit_dot(q.u1, r, thread_unit(lid, 1u, upr), xb); }
  if (upt > 2u) { acc += thread_unit_dot(q.u2, r, thread_unit(lid, 2u, upr), xc); }
  if (upt > 3u) { acc += thread_unit_dot(q.u3, r, thread_unit(lid, 3u, upr), xd); }
  return acc;
}

// The loads of one step (step_quads quads from quad q), issued together.
struct StepUnits {
  a: QuadUnits, b: QuadUnits, c: QuadUnits, d: QuadUnits,
}

fn load_step(row0: u32, q: u32, upr: u32, lid: u32) -> StepUnits {
  var w: StepUnits;
  w.a = load_quad(quad_rows(row0, q), upr, lid);
  if (step_quads > 1u) { w.b = load_quad(quad_rows(row0, q + 1u), upr, lid); }
  if (step_quads > 2u) {
    w.c = load_quad(quad_rows(row0, q + 2u), upr, lid);
    w.d = load_quad(quad_rows(row0, q + 3u), upr, lid);
  }
  return w;
}

fn store_quad(at: u32, v: vec4<f32>) {
  red_partials[at] = v.x;
  red_partials[at + 1u] = v.y;
  red_partials[at + 2u] = v.z;
  red_partials[at + 3u] = v.w;
}

@compute @workgroup_size(wg)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let upr = p.cols / unit_w;  // units per row
  let rows_per_wg = 4u * row_quads;
  let n_tiles = (p.n_rows + rows_per_wg - 1u) / rows_per_wg;
  let sg_size = subgroupAdd(1u);
  let lane = subgroupExclusiveAdd(1u);
  let sg = lid / sg_size;
  // The first step's weights are in flight while x is read and prepared: with short rows and few
  // rows per workgroup, preparing x is as long as streaming the rows.
  var w: StepUnits;
  if (hoist) { w = load_step(wid.x * rows_per_wg, 0u, upr, lid); }
  // The thread's inputs: units lid, lid + wg, ... of x (zeros past the row).
  var x0 = thread_x(lid, upr);
  var x1: UnitX;
  var x2: UnitX;
  var x3: UnitX;
  if (upt > 1u) { x1 = thread_x(lid + wg, upr); }
  if (upt > 2u) { x2 = thread_x(lid + 2u * wg, upr); }
  if (upt > 3u) { x3 = thread_x(lid + 3u * wg, upr); }
  if (x_mode == 1u) {  // RMSNorm: the workgroup holds the whole row of x, so it sums the squares itself
    let ss = subgroupAdd(sum_squares(x0) + sum_squares(x1) + sum_squares(x2) + sum_squares(x3));
    if (lane == 0u) { norm_partials[sg] = ss; }
    workgroupBarrier();
    var total = 0.0;
    for (var i = 0u; i < (wg + sg_size - 1u) / sg_size; i++) { total += norm_partials[i]; }
    let scale = inverseSqrt(total / f32(p.cols) + p.x_eps);
    x0 = normed(x0, lid, upr, scale);
    if (upt > 1u) { x1 = normed(x1, lid + wg, upr, scale); }
    if (upt > 2u) { x2 = normed(x2, lid + 2u * wg, upr, scale); }
    if (upt > 3u) { x3 = normed(x3, lid + 3u * wg, upr, scale); }
  }
  let xa = thread_input(x0);
  let xb = thread_input(x1);
  let xc = thread_input(x2);
  let xd = thread_input(x3);
  // Tiles wid.x, wid.x + nwg.x, ...: with fewer workgroups than tiles (GemvTiling::grid), x is
  // prepared once for several tiles and the next tile's first loads overlap this tile's reduction.
  var tile = wid.x;
  var have_first = hoist;  // w holds the tile's first step
  loop {
    let row0 = tile * rows_per_wg;
    if (!have_first) { w = load_step(row0, 0u, upr, lid); }
    for (var q = 0u; q < row_quads; q += step_quads) {
      let ra = quad_rows(row0, q);
      let rb = quad_rows(row0, q + 1u);
      let rc = quad_rows(row0, q + 2u);
      let rd = quad_rows(row0, q + 3u);
      // Every load of the step issued before any arithmetic; with `prefetch`, a step ahead, so a
      // step's memory latency overlaps the previous step's work.
      if (!prefetch && q > 0u) { w = load_step(row0, q, upr, lid); }
      let wa = w.a;
      let wb = w.b;
      let wc = w.c;
      let wd = w.d;
      if (prefetch && q + step_quads < row_quads) { w = load_step(row0, q + step_quads, upr, lid); }
      let ta = subgroupAdd(quad_dot(wa, ra, upr, lid, xa, xb, xc, xd));
      if (lane == 0u) { store_quad(sg * rows_per_wg + 4u * q, ta); }
      if (step_quads > 1u) {
        let tb = subgroupAdd(quad_dot(wb, rb, upr, lid, xa, xb, xc, xd));
        if (lane == 0u) { store_quad(sg * rows_per_wg + 4u * q + 4u, tb); }
      }
      if (step_quads > 2u) {
        let tc = subgroupAdd(quad_dot(wc, rc, upr, lid, xa, xb, xc, xd));
        let td = subgroupAdd(quad_dot(wd, rd, upr, lid, xa, xb, xc, xd));
        if (lane == 0u) {
          store_quad(sg * rows_per_wg + 4u * q + 8u, tc);
          store_quad(sg * rows_per_wg + 4u * q + 12u, td);
        }
      }
    }
    let next = tile + nwg.x;
    have_first = hoist && next < n_tiles;
    if (have_first) { w = load_step(next * rows_per_wg, 0u, upr, lid); }
    workgroupBarrier();
    if (lid < rows_per_wg && row0 + lid < p.n_rows) {
      var v = 0.0;
      for (var s = 0u; s < (wg + sg_size - 1u) / sg_size; s++) { v += red_partials[s * rows_per_wg + lid]; }
      let yr = p.y_row0 + row0 + lid;
      if ((p.flags & FLAG_BIAS) != 0u) { v += bias[yr]; }
      if ((p.flags & FLAG_ACCUMULATE) != 0u) { v += y[yr]; }
      y[yr] = v;
    }
    if (next >= n_tiles) { break; }
    workgroupBarrier();  // red_partials is the next tile's
    tile = next;
  }
}
