// out(dim) = mean over tokens of x(tokens, dim): sentence embeddings. One thread per dimension.
struct Params {
  tokens: u32,
  dim: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

override wg: u32 = 64;

@compute @workgroup_size(wg)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let d = gid.x;
  if (d < params.dim) {
    var s = 0.0;
    for (var t = 0u; t < params.tokens; t++) {
      s += x[t * params.dim + d];
    }
    out[d] = s / f32(params.tokens);
  }
}
