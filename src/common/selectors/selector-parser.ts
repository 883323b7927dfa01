import { SelectorError, SelectorRequirement, selectorKeyProblem, selectorValueProblem } from './label-selector';

/**
 * Parses the text form of a label selector, Kubernetes style:
 * `key=value`, `key==value`, `key!=value`, `key in (a,b)`, `key notin (a,b)`, `key`, `!key`,
 * requirements joined by commas (AND). Values may be double-quoted (`os.description="Ubuntu 22.04"`,
 * with `\"` and `\\` escapes) when they hold spaces or `,()=!`. The empty selector selects everything.
 * Errors name the 1-based column: `selector: expected ')' at column 17`.
 */
export function parseSelector(text: string, field?: string): SelectorRequirement[] {
  return new SelectorParser(text, field).parse();
}

type TokenKind = 'word' | 'quoted' | ',' | '(' | ')' | '=' | '==' | '!=' | '!' | 'end';

interface Token {
  kind: TokenKind;
  text: string;
  /** 1-based column of the token's first character. */
  column: number;
}

const SPECIAL = new Set([',', '(', ')', '=', '!', '"']);
const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r';

class SelectorParser {
  private readonly tokens: Token[];
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly field?: string,
  ) {
    this.tokens = this.tokenize();
  }

  parse(): SelectorRequirement[] {
    const out: SelectorRequirement[] = [];
    if (this.peek().kind === 'end') return out;
    for (;;) {
      out.push(this.requirement());
      const t = this.next();
      if (t.kind === 'end') return out;
      if (t.kind !== ',') throw this.error(`expected ',' or the end of the selector`, t);
    }
  }

  private requirement(): SelectorRequirement {
    if (this.peek().kind === '!') {
      this.next();
      return { key: this.key(), operator: 'DoesNotExist', values: [] };
    }
    const key = this.key();
    const t = this.peek();
    switch (t.kind) {
      case '=':
      case '==':
        this.next();
        return { key, operator: 'In', values: [this.value()] };
      case '!=':
        this.next();
        return { key, operator: 'NotIn', values: [this.value()] };
      case 'word':
        if (t.text === 'in' || t.text === 'notin') {
          this.next();
          return { key, operator: t.text === 'in' ? 'In' : 'NotIn', values: this.valueSet() };
        }
        throw this.error(`expected '=', '==', '!=', 'in', 'notin', ',' or the end of the selector`, t);
      case ',':
      case 'end':
        return { key, operator: 'Exists', values: [] };
      default:
        throw this.error(`expected '=', '==', '!=', 'in', 'notin', ',' or the end of the selector`, t);
    }
  }

  private key(): string {
    const t = this.next();
    if (t.kind !== 'word') throw this.error('expected a key', t);
    const problem = selectorKeyProblem(t.text);
    if (problem) throw this.error(`invalid key: ${problem}`, t, false);
    return t.text;
  }

  private value(): string {
    const t = this.next();
    if (t.kind !== 'word' && t.kind !== 'quoted') throw this.error('expected a value', t);
    const problem = selectorValueProblem(t.text);
    if (problem) throw this.error(`invalid value: ${problem}`, t, false);
    return t.text;
  }

  private valueSet(): string[] {
    const open = this.next();
    if (open.kind !== '(') throw this.error(`expected '('`, open);
    const values = [this.value()];
    for (;;) {
      const t = this.next();
      if (t.kind === ')') return [...new Set(values)];
      if (t.kind !== ',') throw this.error(`expected ',' or ')'`, t);
      values.push(this.value());
    }
  }

  private peek(): Token {
    return this.tokens[this.pos];
  }

  private next(): Token {
    const t = this.tokens[this.pos];
    if (t.kind !== 'end') this.pos++;
    return t;
  }

  private error(what: string, at: Token, sayFound = true): SelectorError {
    const found = !sayFound
      ? ''
      : at.kind === 'end'
        ? ', found the end of the selector'
        : `, found "${at.kind === 'quoted' ? JSON.stringify(at.text) : at.text}"`;
    return new SelectorError(`selector: ${what} at column ${at.column}${found}`, this.field, at.column);
  }

  private tokenize(): Token[] {
    const s = this.text;
    const tokens: Token[] = [];
    let i = 0;
    while (i < s.length) {
      const c = s[i];
      if (isSpace(c)) {
        i++;
        continue;
      }
      const column = i + 1;
      if (c === '"') {
        let value = '';
        let j = i + 1;
        for (;;) {
          if (j >= s.length) throw new SelectorError(`selector: unterminated quoted value starting at column ${column}`, this.field, column);
          const d = s[j];
          if (d === '"') break;
          if (d === '\\') {
            const e = s[j + 1];
            if (e !== '"' && e !== '\\')
              throw new SelectorError(`selector: unknown escape "\\${e ?? ''}" at column ${j + 1} (only \\" and \\\\)`, this.field, j + 1);
            value += e;
            j += 2;
            continue;
          }
          value += d;
          j++;
        }
        tokens.push({ kind: 'quoted', text: value, column });
        i = j + 1;
      } else if (c === '=' && s[i + 1] === '=') {
        tokens.push({ kind: '==', text: '==', column });
        i += 2;
      } else if (c === '!' && s[i + 1] === '=') {
        tokens.push({ kind: '!=', text: '!=', column });
        i += 2;
      } else if (SPECIAL.has(c)) {
        tokens.push({ kind: c as TokenKind, text: c, column });
        i++;
      } else {
        let j = i;
        while (j < s.length && !isSpace(s[j]) && !SPECIAL.has(s[j])) j++;
        tokens.push({ kind: 'word', text: s.slice(i, j), column });
        i = j;
      }
    }
    tokens.push({ kind: 'end', text: '', column: s.length + 1 });
    return tokens;
  }
}
