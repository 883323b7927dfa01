import { UsageError } from './cli-errors';

/**
 * Label selectors (`-l`) for the lists whose API has no selector parameter (groups, remote
 * configs, users, tokens): the same syntax as the server's agent selector, matched on the client.
 */

export type Requirement =
  { key: string; op: 'eq' | 'ne'; value: string } | { key: string; op: 'in' | 'notin'; values: string[] } | { key: string; op: 'exists' | 'absent' };

/** Splits on commas that are not inside parentheses. */
function splitTerms(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((t) => t.trim()).filter(Boolean);
}

const KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;

/** Parses `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`, comma-separated. */
export function parseSelector(text: string): Requirement[] {
  return splitTerms(text).map((term) => {
    let m = /^(\S+?)\s*(==|=|!=)\s*(\S*)$/.exec(term);
    if (m && KEY.test(m[1])) return { key: m[1], op: m[2] === '!=' ? 'ne' : 'eq', value: m[3] };
    m = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term);
    if (m && KEY.test(m[1])) {
      const values = m[3]
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean);
      if (!values.length) throw new UsageError(`selector "${term}": ${m[2]} needs at least one value`);
      return { key: m[1], op: m[2] as 'in' | 'notin', values };
    }
    if (term.startsWith('!') && KEY.test(term.slice(1).trim())) return { key: term.slice(1).trim(), op: 'absent' };
    if (KEY.test(term)) return { key: term, op: 'exists' };
    throw new UsageError(`invalid selector term "${term}" (expected k=v, k!=v, k in (a,b), k notin (a,b), k or !k)`);
  });
}

/** True when the labels satisfy every requirement. */
export function matchesSelector(reqs: Requirement[], labels: Record<string, unknown> | undefined): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key) && l[r.key] !== null && l[r.key] !== undefined;
    const v = has ? String(l[r.key]) : undefined;
    switch (r.op) {
      case 'eq':
        return v === r.value;
      case 'ne':
        return v !== r.value;
      case 'in':
        return v !== undefined && r.values.includes(v);
      case 'notin':
        return v === undefined || !r.values.includes(v);
      case 'exists':
        return has;
      case 'absent':
        return !has;
    }
  });
}
