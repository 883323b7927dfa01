import { SelectorError } from './label-selector';
import { formatSelector } from './label-selector';
import { parseSelector } from './selector-parser';

function errorOf(text: string): SelectorError {
  try {
    parseSelector(text);
  } catch (e) {
    if (e instanceof SelectorError) return e;
    throw e;
  }
  throw new Error(`"${text}" parsed`);
}

describe('parseSelector', () => {
  it('reads every operator', () => {
    expect(parseSelector('env=prod, tier==web,zone!=eu, os in (linux, darwin), arch notin (arm),service.name,!debug')).toEqual([
      { key: 'env', operator: 'In', values: ['prod'] },
      { key: 'tier', operator: 'In', values: ['web'] },
      { key: 'zone', operator: 'NotIn', values: ['eu'] },
      { key: 'os', operator: 'In', values: ['linux', 'darwin'] },
      { key: 'arch', operator: 'NotIn', values: ['arm'] },
      { key: 'service.name', operator: 'Exists', values: [] },
      { key: 'debug', operator: 'DoesNotExist', values: [] },
    ]);
  });

  it('selects everything when empty', () => {
    expect(parseSelector('')).toEqual([]);
    expect(parseSelector('   ')).toEqual([]);
  });

  it('accepts Kubernetes-style keys and attribute keys, and quoted values', () => {
    expect(parseSelector('app.kubernetes.io/name=collector,k8s.pod.name in ("a b", "c,d"),v="say \\"hi\\""')).toEqual([
      { key: 'app.kubernetes.io/name', operator: 'In', values: ['collector'] },
      { key: 'k8s.pod.name', operator: 'In', values: ['a b', 'c,d'] },
      { key: 'v', operator: 'In', values: ['say "hi"'] },
    ]);
  });

  it('takes in/notin as keys where they stand alone', () => {
    expect(parseSelector('in,notin in (in)')).toEqual([
      { key: 'in', operator: 'Exists', values: [] },
      { key: 'notin', operator: 'In', values: ['in'] },
    ]);
  });

  it('names the column of the first problem', () => {
    expect(errorOf('env in (prod, dev').message).toBe(`selector: expected ',' or ')' at column 18, found the end of the selector`);
    expect(errorOf('env in (prod dev)')).toMatchObject({ column: 14, message: expect.stringContaining(`expected ',' or ')' at column 14, found "dev"`) });
    expect(errorOf('env in prod').message).toBe(`selector: expected '(' at column 8, found "prod"`);
    expect(errorOf('a=1,,b').message).toBe(`selector: expected a key at column 5, found ","`);
    expect(errorOf('a=1,').column).toBe(5);
    expect(errorOf('env=').message).toBe('selector: expected a value at column 5, found the end of the selector');
    expect(errorOf('env prod').message).toContain('at column 5');
    expect(errorOf('env=a=b').message).toBe(`selector: expected ',' or the end of the selector at column 6, found "="`);
    expect(errorOf('-bad=1').message).toMatch(/^selector: invalid key: key "-bad" must .* at column 1$/);
    expect(errorOf('x="open').message).toBe('selector: unterminated quoted value starting at column 3');
    expect(errorOf('x in ()').message).toBe(`selector: expected a value at column 7, found ")"`);
    expect(errorOf('!').column).toBe(2);
  });

  it('carries the field it was given', () => {
    expect(() => parseSelector('a in', 'filter')).toThrow(expect.objectContaining({ field: 'filter', column: 5 }));
  });

  it('formats back to an equivalent selector', () => {
    const text = 'env=prod,zone!=eu,os in (linux,darwin),arch notin (arm,x86),service.name,!debug,d="a b"';
    expect(parseSelector(formatSelector(parseSelector(text)))).toEqual(parseSelector(text));
  });
});
