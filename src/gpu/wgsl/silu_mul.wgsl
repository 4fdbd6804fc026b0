// out(n) = silu(gate) * up: the gated feed-forward of llama. One thread per element.
struct Params {
  n: u32,
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
    let g = gate[i];
    out[i] = g / (1.0 + exp(-g)) * up[i];
  }
}
