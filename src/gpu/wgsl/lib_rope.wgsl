// RoPE's angle and its sine/cosine, shared by rope.wgsl (in place) and rope_kv.wgsl (into the KV
// cache); composed in front of them. llama.cpp's "norm" mode: pair i of the first n_rot dims of a
// head turns by pos * theta_scale^i, the angle advanced by repeated f32 multiplication as ggml does,
// so it equals the CPU path's bit for bit.

fn rope_angle(pos: u32, pair: u32, theta_scale: f32) -> f32 {
  var theta = f32(pos);
  for (var k = 0u; k < pair; k++) {
    theta *= theta_scale;
  }
  return theta;
}

// (sin a, cos a) for a >= 0: Cody-Waite reduction by pi/4 in three parts (Cephes sinf), then
// minimax polynomials on [-pi/4, pi/4]; a few ulp for a < 8192, ~1e-6 absolute up to 5e4.
// WGSL's own sin/cos promise only 2^-11 absolute error, too little for large positions.
fn sin_cos(a: f32) -> vec2<f32> {
  var j = u32(a * 1.27323954473516);  // 4 / pi
  j = (j + 1u) & ~1u;
  let y = f32(j);
  let r = ((a - y * 0.78515625) - y * 2.4187564849853515625e-4) - y * 3.77489497744594108e-8;
  let z = r * r;
  let s = r + r * z * (-1.6666654611e-1 + z * (8.3321608736e-3 + z * -1.9515295891e-4));
  let c = 1.0 - 0.5 * z + z * z * (4.166664568298827e-2 + z * (-1.388731625493765e-3 + z * 2.443315711809948e-5));
  switch ((j >> 1u) & 3u) {
    case 0u: { return vec2<f32>(s, c); }
    case 1u: { return vec2<f32>(c, -s); }
    case 2u: { return vec2<f32>(-s, -c); }
    default: { return vec2<f32>(-c, s); }
  }
}

// The pair (x0, x1) turned by the angle whose (sin, cos) is sc.
fn rope_turn(x: vec2<f32>, sc: vec2<f32>) -> vec2<f32> {
  return vec2<f32>(x.x * sc.y - x.y * sc.x, x.x * sc.x + x.y * sc.y);
}
