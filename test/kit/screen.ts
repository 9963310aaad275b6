// A tiny terminal for tests: replays what a program wrote to a terminal (text, CR, LF and the few escape
// sequences the live board uses: cursor to the start of a line n up, erase below, erase line, colours)
// and gives the screen as lines, so a test can assert on what a user saw rather than on raw bytes.

export interface Replay {
  /** The final screen (scrolled-off lines included), colour codes removed. */
  lines: string[];
  /** The most lines that held a running-task spinner at once (checked after each chunk). */
  maxSpinners: number;
}

const SPINNER = /^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] /;

export function replay(stream: string, chunks?: readonly string[]): Replay {
  const lines: string[] = [''];
  let row = 0;
  let col = 0;
  let maxSpinners = 0;
  const put = (text: string): void => {
    const line = lines[row] ?? '';
    lines[row] = line.slice(0, col).padEnd(col) + text + line.slice(col + text.length);
    col += text.length;
  };
  const feed = (s: string): void => {
    for (let i = 0; i < s.length; ) {
      const esc = /^\x1b\[([0-9;]*)([A-Za-z])/.exec(s.slice(i));
      if (esc) {
        const n = Number(esc[1] || '1');
        if (esc[2] === 'F') {
          row = Math.max(0, row - n);
          col = 0;
        } else if (esc[2] === 'J') lines.splice(row + 1), (lines[row] = (lines[row] ?? '').slice(0, col));
        else if (esc[2] === 'K') lines[row] = esc[1] === '2' ? '' : (lines[row] ?? '').slice(0, col);
        i += esc[0].length;
        continue;
      }
      const ch = s[i]!;
      if (ch === '\r') col = 0;
      else if (ch === '\n') {
        row++;
        col = 0;
        if (lines.length <= row) lines.push('');
      } else put(ch);
      i++;
    }
    maxSpinners = Math.max(maxSpinners, lines.filter((l) => SPINNER.test(l)).length);
  };
  for (const c of chunks ?? [stream]) feed(c);
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  return { lines, maxSpinners };
}
