// out(tokens, cols) = rows ids[t] of a weight matrix in any GPU layout, dequantized. Composed by
// the C++ as lib_quant_decode.wgsl + this file. One thread per 16-byte unit (grid: x unit tiles,
// y tokens). A matrix split into row ranges is gathered one range per dispatch: rows outside the
// range are left to the other dispatches.
override wg: u32 = 64;

struct Params {
  range_row0: u32,  // the range's first row in the matrix
  n_rows: u32,      // rows in the range
  cols: u32,
  tokens: u32,
  code_base: u32,   // the range's first unit in `codes` (binding offset remainder)
  hi_base: u32,
  scale_base: u32,
  _pad0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> codes: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> hi: array<vec2<u32>>;
@group(0) @binding(3) var<storage, read> scales: array<u32>;
@group(0) @binding(4) var<storage, read> ids: array<u32>;              // (tokens)
@group(0) @binding(5) var<storage, read_write> out: array<vec4<f32>>;  // (tokens, cols)

@compute @workgroup_size(wg)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let uw = unit_weights();
  let upr = p.cols / uw;
  let u = gid.x;
  let t = gid.y;
  if (u >= upr || t >= p.tokens) { return; }
  let id = ids[t];
  if (id < p.range_row0 || id - p.range_row0 >= p.n_rows) { return; }
  let row = id - p.range_row0;
  let cw = codes[p.code_base + row * upr + u];
  var hw = vec2<u32>(0u);
  if (bits == 3u) { hw = hi[p.hi_base + row * upr + u]; }
  let ob = t * (p.cols / 4u) + u * (uw / 4u);
  for (var sg = 0u; sg < n_seg; sg++) {
    let dm = segment_scale(p.scale_base, p.cols, row, u, sg);
    for (var i = 0u; i < seg_vecs; i++) {
      let k = sg * seg_vecs + i;
      out[ob + k] = fma(unit_codes(cw, hw, k), vec4<f32>(dm.x), vec4<f32>(dm.y));
    }
  }
}
