enable subgroups;

// Prepended to matmul.wgsl where the device has `subgroups`: per-thread partial sums reduced with
// subgroupAdd, then one workgroup-memory pass over the subgroups (lib_reduce_workgroup.wgsl is
// the fallback). Assumes subgroups are consecutive ranges of local_invocation_index.
const RED_SLOTS = 32u;
var<workgroup> red_partials: array<f32, 2048>;  // [subgroup][slot]: up to 64 subgroups x 32 slots

// The workgroup total of slot `lid` of every thread's `acc` (valid for lid < n); call in uniform
// control flow.
fn reduce_slots(acc: ptr<function, array<f32, 32>>, n: u32, lid: u32) -> f32 {
  let sg_size = subgroupAdd(1u);
  let lane = subgroupExclusiveAdd(1u);
  let sg = lid / sg_size;
  for (var v = 0u; v < n; v++) {
    let s = subgroupAdd((*acc)[v]);
    if (lane == 0u) { red_partials[sg * RED_SLOTS + v] = s; }
  }
  workgroupBarrier();
  var total = 0.0;
  if (lid < n) {
    for (var i = 0u; i < (wg + sg_size - 1u) / sg_size; i++) { total += red_partials[i * RED_SLOTS + lid]; }
  }
  return total;
}
