/**
 * Lines of a byte stream (LF or CRLF), numbered from 1. A line longer than `capBytes` is not held
 * in memory: its bytes are counted and dropped, so one runaway line (a binary file, a missing
 * newline) cannot exhaust memory. A line that is not valid UTF-8 is reported as such rather than
 * decoded with replacement characters, which would change what is sent.
 */
export type InputLine =
  | { readonly line: number; readonly text: string }
  | { readonly line: number; readonly problem: 'too_long' | 'not_utf8'; readonly bytes: number };

const LF = 10;

export async function* readLines(chunks: AsyncIterable<Buffer | string>, capBytes: number): AsyncGenerator<InputLine> {
  let parts: Buffer[] = [];
  let size = 0;
  let line = 0;
  const decoder = new TextDecoder('utf-8', { fatal: true });

  const finish = (): InputLine => {
    line++;
    const bytes = size;
    const held = parts;
    parts = [];
    size = 0;
    if (bytes > capBytes) return { line, problem: 'too_long', bytes };
    let text: string;
    try {
      text = decoder.decode(Buffer.concat(held));
    } catch {
      return { line, problem: 'not_utf8', bytes };
    }
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    return { line, text };
  };

  for await (const chunk of chunks) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(LF, start);
      const end = nl === -1 ? buf.length : nl;
      if (size + (end - start) <= capBytes) {
        if (end > start) parts.push(buf.subarray(start, end));
      } else parts = [];
      size += end - start;
      if (nl === -1) break;
      yield finish();
      start = nl + 1;
    }
  }
  if (size > 0) yield finish();
}
