// The autodiff core: a Tensor is a Float32Array with a shape and an optional gradient buffer; a Tape
// records one backward closure per op during the forward pass and replays them in reverse. Ops live in
// ops.ts, conv.ts, lstm.ts and crf.ts; each one accumulates into the gradients of its inputs.

export class Tensor {
  grad: Float32Array | null;
  constructor(
    readonly data: Float32Array,
    readonly shape: readonly number[],
    /** False for inputs (features): their gradients are never computed. */
    readonly requiresGrad = false,
    grad: Float32Array | null = null,
  ) {
    this.grad = grad;
    const size = shape.reduce((a, b) => a * b, 1);
    if (size !== data.length) throw new Error(`tensor shape [${shape.join(',')}] does not match ${data.length} values`);
  }

  get rows(): number {
    return this.shape[0] ?? 1;
  }

  get cols(): number {
    return this.shape.length > 1 ? this.shape[this.shape.length - 1]! : 1;
  }

  /** The gradient buffer, created on first use. */
  g(): Float32Array {
    if (!this.grad) this.grad = new Float32Array(this.data.length);
    return this.grad;
  }

  static zeros(shape: readonly number[], requiresGrad = false): Tensor {
    return new Tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape, requiresGrad);
  }
}

/** Records backward steps. Pass `null` instead of a tape for inference: nothing is recorded. */
export class Tape {
  private readonly steps: Array<() => void> = [];

  record(step: () => void): void {
    this.steps.push(step);
  }

  /** Runs the recorded steps in reverse; the loss op has already seeded its input's gradient. */
  backward(): void {
    for (let i = this.steps.length - 1; i >= 0; i--) this.steps[i]!();
    this.steps.length = 0;
  }
}

/** A result tensor that needs a gradient when any input does and a tape is recording. */
export function result(tape: Tape | null, data: Float32Array, shape: readonly number[], ...inputs: Tensor[]): Tensor {
  return new Tensor(data, shape, tape !== null && inputs.some((t) => t.requiresGrad));
}
