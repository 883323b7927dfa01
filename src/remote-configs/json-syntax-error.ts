/**
 * Finds where JSON text stops being JSON. V8's JSON.parse messages do not always carry a position
 * ("Unexpected token '}', ... is not valid JSON"), so this small scanner (RFC 8259 grammar, no
 * recursion) is run after JSON.parse has refused a body, to name the line and column.
 */
export interface JsonSyntaxProblem {
  /** 0-based offset into the text (UTF-16 code units). */
  offset: number;
  message: string;
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const LITERALS = ['true', 'false', 'null'];

export function findJsonSyntaxProblem(s: string): JsonSyntaxProblem | undefined {
  let i = 0;
  const stack: ('{' | '[')[] = [];
  const skipSpace = () => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === '\n' || s[i] === '\r')) i++;
  };
  const describe = (at: number) => (at >= s.length ? 'the end of the text' : `'${s[at]}'`);
  const problem = (expected: string, at = i): JsonSyntaxProblem => ({ offset: at, message: `expected ${expected}, found ${describe(at)}` });

  const scanString = (): JsonSyntaxProblem | undefined => {
    const start = i;
    i++; // opening quote
    for (;;) {
      if (i >= s.length) return { offset: start, message: 'unterminated string' };
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return undefined;
      }
      if (c < 0x20) return { offset: i, message: 'control character in string (escape it)' };
      if (c === 0x5c) {
        const e = s[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(s.slice(i + 2, i + 6))) return { offset: i, message: 'invalid \\u escape in string' };
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) {
          i += 2;
        } else {
          return { offset: i, message: 'invalid escape in string' };
        }
        continue;
      }
      i++;
    }
  };

  // true while a value is expected next; false after one has been read.
  let wantValue = true;
  for (;;) {
    skipSpace();
    if (wantValue) {
      const c = s[i];
      if (c === '{' || c === '[') {
        stack.push(c);
        i++;
        skipSpace();
        const close = c === '{' ? '}' : ']';
        if (s[i] === close) {
          stack.pop();
          i++;
          wantValue = false;
          continue;
        }
        if (c === '{') {
          if (s[i] !== '"') return problem(`a string key or '}'`);
          const p = scanString();
          if (p) return p;
          skipSpace();
          if (s[i] !== ':') return problem(`':'`);
          i++;
        }
        continue;
      }
      if (c === '"') {
        const p = scanString();
        if (p) return p;
        wantValue = false;
        continue;
      }
      if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
        NUMBER.lastIndex = i;
        const m = NUMBER.exec(s);
        if (!m) return { offset: i, message: 'invalid number' };
        i += m[0].length;
        wantValue = false;
        continue;
      }
      const literal = LITERALS.find((l) => s.startsWith(l, i));
      if (literal) {
        i += literal.length;
        wantValue = false;
        continue;
      }
      return problem('a value');
    }
    // After a value.
    const top = stack[stack.length - 1];
    if (top === undefined) return i < s.length ? { offset: i, message: `unexpected ${describe(i)} after the JSON value` } : undefined;
    const close = top === '{' ? '}' : ']';
    if (s[i] === close) {
      stack.pop();
      i++;
      continue;
    }
    if (s[i] !== ',') return problem(`',' or '${close}'`);
    i++;
    if (top === '{') {
      skipSpace();
      if (s[i] !== '"') return problem('a string key');
      const p = scanString();
      if (p) return p;
      skipSpace();
      if (s[i] !== ':') return problem(`':'`);
      i++;
    }
    wantValue = true;
  }
}

/** 1-based line and column of an offset. */
export function lineColumnAt(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let k = 0; k < offset && k < text.length; k++) {
    if (text.charCodeAt(k) === 0x0a) {
      line++;
      lineStart = k + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}
