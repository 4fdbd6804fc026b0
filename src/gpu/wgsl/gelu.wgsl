// x(n) = gelu(x) in place, erf form: 0.5 x (1 + erf(x / sqrt 2)), as BERT and the CPU path use.
// WGSL has no erf: erfc comes from the Chebyshev fit of Numerical Recipes' erfcc (fractional error
// below 1.2e-7 everywhere), and erfc (not 1 + erf) is used for x < 0, so no cancellation there.
struct Params {
  n: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;

override wg: u32 = 256;

// exp(x) for x <= 0 to a few ulp even for large |x|: GPUs compute exp as exp2(x * log2 e), and
// rounding that product costs |x| ulp (4e-6 relative at x = -45). Cody-Waite instead: x = k ln2 + r
// with ln2 in two parts (Cephes expf), exp(r) on |r| <= 0.35, and an exact scaling by 2^k.
fn exp_accurate(x: f32) -> f32 {
  let k = round(x * 1.44269504088896341);
  let r = (x - k * 0.693359375) + k * 2.12194440e-4;
  return ldexp(exp(r), i32(k));
}

// erfc(a / sqrt 2) for a >= 0. exp(-z^2) is where precision goes: z^2 = a^2 / 2 is formed
// exactly as (hi^2 + lo (a + hi)) / 2, hi the top 12 bits of a, or its f32 rounding (relative
// 6e-8 of z^2, ~44 near a = 9) would cost 5e-6 of relative error in the tail.
fn erfc_scaled(a: f32) -> f32 {
  let z = a * 0.70710678118654752;
  let t = 1.0 / (1.0 + 0.5 * z);
  let poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
             t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  let hi = bitcast<f32>(bitcast<u32>(a) & 0xfffff000u);
  let lo = a - hi;
  return t * exp_accurate(-0.5 * hi * hi) * exp(poly - 0.5 * lo * (a + hi));
}

@compute @workgroup_size(wg)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * groups.x + wid.x) * wg + lid;
  if (i < params.n) {
    let v = x[i];
    let e = erfc_scaled(abs(v));
    // 1 + erf(z) = 2 - erfc(z) for z >= 0, erfc(-z) for z < 0.
    x[i] = 0.5 * v * select(e, 2.0 - e, v >= 0.0);
  }
}
