// Prepended to matmul.wgsl where the device lacks `subgroups`: a tree reduction in workgroup
// memory of every slot at once (log2(wg) barriers). Needs wg * slots <= 8192.
var<workgroup> red_partials: array<f32, 8192>;  // [slot][thread]

// The workgroup total of slot `lid` of every thread's `acc` (valid for lid < n); call in uniform
// control flow.
fn reduce_slots(acc: ptr<function, array<f32, 32>>, n: u32, lid: u32) -> f32 {
  for (var v = 0u; v < n; v++) { red_partials[v * wg + lid] = (*acc)[v]; }
  workgroupBarrier();
  for (var s = wg / 2u; s > 0u; s = s / 2u) {
    if (lid < s) {
      for (var v = 0u; v < n; v++) { red_partials[v * wg + lid] += red_partials[v * wg + lid + s]; }
    }
    workgroupBarrier();
  }
  return select(0.0, red_partials[min(lid, n - 1u) * wg], lid < n);
}
