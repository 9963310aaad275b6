// A WebAssembly SIMD kernel for C = A·Bᵀ, assembled here byte by byte (no toolchain needed, nothing
// downloaded). Each step of its inner loop multiplies a 4×2 tile with four-lane f32 vectors: about 4×
// the work per instruction of the scalar JS kernel. Operands are copied into the module's memory,
// zero-padded to whole tiles; the horizontal sums run in a fixed order, so results are reproducible.
// Returns null where the runtime has no wasm SIMD; callers then keep the JS kernel.

const I32 = 0x7f,
  V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const str = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];

// Instructions.
const get = (i: number): number[] => [0x20, ...uleb(i)];
const set = (i: number): number[] => [0x21, ...uleb(i)];
const i32c = (v: number): number[] => [0x41, ...sleb(v)];
const ADD = [0x6a],
  MUL = [0x6c],
  SHL = [0x74],
  LT_U = [0x49];
const simd = (op: number, ...imm: number[]): number[] => [0xfd, ...uleb(op), ...imm];
const vload = (): number[] => simd(0x00, 4, 0);
const vzero = (): number[] => simd(0x0c, ...new Array<number>(16).fill(0));
const F32X4_ADD = simd(0xe4),
  F32X4_MUL = simd(0xe6);
const lane = (l: number): number[] => simd(0x1f, l);
const F32_ADD = [0x92];
const fstore = (): number[] => [0x38, 2, 0];
const loop = (body: number[]): number[] => [0x03, 0x40, ...body, 0x0b];

// Locals: params a, b, c, M, K4, N; then i32 scratch; then v128 accumulators and operands.
const A = 0,
  B = 1,
  C = 2,
  M = 3,
  K4 = 4,
  N = 5;
const I = 6,
  J = 7,
  K = 8,
  PA = 9,
  PB = 13,
  KEND = 15,
  ROW = 16; // PA..PA+3, PB..PB+1
const S = 17,
  X = 25,
  Y = 29; // S: 8 accumulators (r*2+c), X: 4 rows, Y: 2 cols

function kernelBody(): number[] {
  const code: number[] = [];
  const emit = (...parts: number[][]): void => {
    for (const p of parts) code.push(...p);
  };
  emit(get(K4), i32c(2), SHL, set(ROW)); // row stride in bytes
  emit(i32c(0), set(I));
  const iLoop: number[] = [];
  const jLoop: number[] = [];
  const kLoop: number[] = [];
  // j loop body
  for (let s = 0; s < 8; s++) jLoop.push(...vzero(), ...set(S + s));
  jLoop.push(...get(A), ...get(I), ...get(ROW), ...MUL, ...ADD, ...set(PA));
  for (let r = 1; r < 4; r++) jLoop.push(...get(PA + r - 1), ...get(ROW), ...ADD, ...set(PA + r));
  jLoop.push(...get(B), ...get(J), ...get(ROW), ...MUL, ...ADD, ...set(PB));
  jLoop.push(...get(PB), ...get(ROW), ...ADD, ...set(PB + 1));
  jLoop.push(...i32c(0), ...set(K), ...get(ROW), ...set(KEND));
  // k loop body
  for (let r = 0; r < 4; r++) kLoop.push(...get(PA + r), ...get(K), ...ADD, ...vload(), ...set(X + r));
  for (let c = 0; c < 2; c++) kLoop.push(...get(PB + c), ...get(K), ...ADD, ...vload(), ...set(Y + c));
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 2; c++) kLoop.push(...get(S + r * 2 + c), ...get(X + r), ...get(Y + c), ...F32X4_MUL, ...F32X4_ADD, ...set(S + r * 2 + c));
  }
  kLoop.push(...get(K), ...i32c(16), ...ADD, ...set(K), ...get(K), ...get(KEND), ...LT_U, 0x0d, 0);
  jLoop.push(...loop(kLoop));
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 2; c++) {
      const s = S + r * 2 + c;
      jLoop.push(...get(C), ...get(I), ...i32c(r), ...ADD, ...get(N), ...MUL, ...get(J), ...ADD, ...i32c(c), ...ADD, ...i32c(2), ...SHL, ...ADD);
      jLoop.push(...get(s), ...lane(0), ...get(s), ...lane(1), ...F32_ADD, ...get(s), ...lane(2), ...get(s), ...lane(3), ...F32_ADD, ...F32_ADD, ...fstore());
    }
  }
  jLoop.push(...get(J), ...i32c(2), ...ADD, ...set(J), ...get(J), ...get(N), ...LT_U, 0x0d, 0);
  iLoop.push(...i32c(0), ...set(J), ...loop(jLoop));
  iLoop.push(...get(I), ...i32c(4), ...ADD, ...set(I), ...get(I), ...get(M), ...LT_U, 0x0d, 0);
  emit(loop(iLoop));
  const locals = vec([
    [...uleb(11), I32],
    [...uleb(14), V128],
  ]);
  const body = [...locals, ...code, 0x0b];
  return [...uleb(body.length), ...body];
}

function moduleBytes(): Uint8Array {
  const bytes = [
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec([[0x60, ...vec(new Array(6).fill([I32])), 0]])),
    ...section(3, vec([[0]])),
    ...section(5, vec([[0x00, ...uleb(1)]])),
    ...section(
      7,
      vec([
        [...str('gemm'), 0x00, 0],
        [...str('mem'), 0x02, 0],
      ]),
    ),
    ...section(10, vec([kernelBody()])),
  ];
  return Uint8Array.from(bytes);
}

export type GemmNT = (A: Float32Array, B: Float32Array, C: Float32Array, M: number, K: number, N: number, accumulate: boolean) => void;

// The project's TS lib settings carry no WebAssembly types; this is the little the kernel uses.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}

export interface SimdKernels {
  /** C[M,N] (+)= A[M,K] · B[N,K]ᵀ */
  nt: GemmNT;
  /** C[M,N] (+)= A[K,M]ᵀ · B[K,N] (weight gradients): the transposes happen while packing. */
  tn: GemmNT;
}

function instantiate(): SimdKernels | null {
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (!wasm) return null;
  let exports: Record<string, unknown>;
  try {
    exports = new wasm.Instance(new wasm.Module(moduleBytes())).exports;
  } catch {
    return null;
  }
  const gemm = exports.gemm as (a: number, b: number, c: number, m: number, k4: number, n: number) => void;
  const mem = exports.mem as WasmMemory;
  const run = (a: Float32Array, b: Float32Array, c: Float32Array, m: number, k: number, n: number, accumulate: boolean, transposed: boolean): void => {
    const mp = (m + 3) & ~3,
      np = (n + 1) & ~1,
      k4 = (k + 3) & ~3;
    const aOff = 0,
      bOff = mp * k4,
      cOff = bOff + np * k4,
      total = cOff + mp * np;
    const need = total * 4 - mem.buffer.byteLength;
    if (need > 0) mem.grow(Math.ceil(need / 65536));
    const f = new Float32Array(mem.buffer);
    // Row-major [rows, k] operands are copied as they are; transposed ones ([k, rows]) are gathered.
    const pack = (src: Float32Array, rows: number, paddedRows: number, off: number): void => {
      if (transposed) {
        for (let r = 0; r < rows; r++) {
          const row = off + r * k4;
          for (let kk = 0; kk < k; kk++) f[row + kk] = src[kk * rows + r]!;
          f.fill(0, row + k, row + k4);
        }
      } else if (k4 === k) f.set(src.subarray(0, rows * k), off);
      else
        for (let r = 0; r < rows; r++) {
          f.set(src.subarray(r * k, r * k + k), off + r * k4);
          f.fill(0, off + r * k4 + k, off + (r + 1) * k4);
        }
      f.fill(0, off + rows * k4, off + paddedRows * k4);
    };
    pack(a, m, mp, aOff);
    pack(b, n, np, bOff);
    gemm(aOff * 4, bOff * 4, cOff * 4, mp, k4, np);
    for (let i = 0; i < m; i++) {
      const src = cOff + i * np,
        dst = i * n;
      if (accumulate) for (let j = 0; j < n; j++) c[dst + j]! += f[src + j]!;
      else c.set(f.subarray(src, src + n), dst);
    }
  };
  return {
    nt: (a, b, c, m, k, n, accumulate) => run(a, b, c, m, k, n, accumulate, false),
    tn: (a, b, c, m, k, n, accumulate) => run(a, b, c, m, k, n, accumulate, true),
  };
}

const kernels = instantiate();
export const simdGemmNT: GemmNT | null = kernels?.nt ?? null;
export const simdGemmTN: GemmNT | null = kernels?.tn ?? null;
