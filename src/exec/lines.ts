// Splits streamed text (Buffers or strings) into lines; the last partial line is flushed at the end.
export function lineSplitter(emit: (line: string) => void): { push(chunk: Buffer | string): void; end(): void } {
  let pending = '';
  return {
    push(chunk) {
      pending += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        emit(pending.slice(0, nl).replace(/\r$/, ''));
        pending = pending.slice(nl + 1);
      }
    },
    end() {
      if (pending) emit(pending);
      pending = '';
    },
  };
}
