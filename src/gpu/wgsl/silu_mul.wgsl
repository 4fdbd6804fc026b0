// out(rows, width) = silu(gate) * up: the gated feed-forward of llama. Row r of gate starts at
// r * in_stride of `gate`, row r of up at r * in_stride + up_offset of `up`: separate contiguous
// buffers (width = n, in_stride and up_offset 0), or the two halves of each row of a fused
// gate|up product bound twice (in_stride 2 * width, up_offset width). One thread per element.
struct Params {
  n: u32,          // rows * width
  width: u32,
  in_stride: u32,
  up_offset: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> gate: array<f32>;
@group(0) @binding(2) var<storage, read> up: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

override wg: u32 = 256;

@compute @workgroup_size(wg)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * groups.x + wid.x) * wg + lid;
  if (i < params.n) {
    let r = i / params.width;
    let at = r * params.in_stride + (i - r * params.width);
    let g = gate[at];
    out[i] = g / (1.0 + exp(-g)) * up[at + params.up_offset];
  }
}
