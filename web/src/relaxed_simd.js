// Whether this engine runs relaxed SIMD the way the relaxed build needs: validating is not enough
// (Node 20's V8 accepts i32x4.relaxed_dot_i8x16_i7x16_add_s behind a flag but returns twice the
// dot product and drops the accumulator), so a tiny module runs both ops on known inputs.

// Memory: dot operands a (i8), b (7-bit), acc (i32) at 0, 16, 32, result at 48; madd operands at
// 64, 80, 96, result at 112; the 16-bit dot of a and b at 128. One function, no parameters.
function probeModule() {
  const leb = (n) => (n < 128 ? [n] : [0x80 | (n & 127), n >> 7]);
  const load = (offset) => [0x41, 0, 0xfd, 0x00, 4, ...leb(offset)];  // i32.const 0; v128.load offset
  const store = (offset) => [0xfd, 0x0b, 4, ...leb(offset)];          // v128.store offset
  const body = [0x00,
    0x41, 0, ...load(0), ...load(16), ...load(32), 0xfd, 0x93, 0x02, ...store(48),   // i32x4.relaxed_dot_i8x16_i7x16_add_s
    0x41, 0, ...load(64), ...load(80), ...load(96), 0xfd, 0x85, 0x02, ...store(112), // f32x4.relaxed_madd
    0x41, 0, ...load(0), ...load(16), 0xfd, 0x92, 0x02, ...store(128),               // i16x8.relaxed_dot_i8x16_i7x16_s
    0x0b];
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    1, 4, 1, 0x60, 0, 0,                                  // type () -> ()
    3, 2, 1, 0,                                           // one function
    5, 3, 1, 0, 1,                                        // one page of memory
    7, 9, 2, 1, 0x66, 0, 0, 1, 0x6d, 2, 0,                // exports f, m
    10, body.length + 2, 1, body.length, ...body]);
}

let cached;

/** True where relaxed SIMD validates and gives the exact answers the relaxed kernels rely on. */
export function relaxedSimdWorks() {
  if (cached !== undefined) return cached;
  cached = false;
  try {
    const bytes = probeModule();
    if (typeof WebAssembly !== 'object' || !WebAssembly.validate(bytes)) return cached;
    const { f, m } = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports;
    const a = Int8Array.from({ length: 16 }, (_, i) => i * 37 - 128), b = Uint8Array.from({ length: 16 }, (_, i) => 127 - i * 5);
    const acc = Int32Array.of(1000, -7, 3, 123456);
    new Int8Array(m.buffer, 0, 16).set(a);
    new Uint8Array(m.buffer, 16, 16).set(b);
    new Int32Array(m.buffer, 32, 4).set(acc);
    new Float32Array(m.buffer, 64, 12).set([1.5, -2, 3, 0.5, 4, 4, 4, 4, 0.25, 1, -1, 2]);
    f();
    const dot = new Int32Array(m.buffer, 48, 4), madd = new Float32Array(m.buffer, 112, 4);
    const dotOk = [0, 1, 2, 3].every((l) => dot[l] === acc[l] + [0, 1, 2, 3].reduce((s, j) => s + a[4 * l + j] * b[4 * l + j], 0));
    const maddOk = [6.25, -7, 11, 4].every((v, l) => madd[l] === v);
    const dot16 = new Int16Array(m.buffer, 128, 8);
    const dot16Ok = [...dot16].every((v, l) => v === a[2 * l] * b[2 * l] + a[2 * l + 1] * b[2 * l + 1]);
    cached = dotOk && maddOk && dot16Ok;
  } catch {
    cached = false;
  }
  return cached;
}

/** File name of the wasm build for this thread count: relaxed SIMD where it works, else SIMD128. */
export function variantFile(threads, relaxed) {
  return `webaccel-${threads > 1 ? 'mt' : 'st'}${relaxed ? '-relaxed' : ''}.js`;
}
