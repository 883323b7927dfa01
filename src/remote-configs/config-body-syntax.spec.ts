import { findConfigSyntaxProblem, syntaxOf } from './config-body-syntax';
import { findJsonSyntaxProblem } from './json-syntax-error';

describe('findConfigSyntaxProblem', () => {
  it('knows which content types it checks', () => {
    expect(syntaxOf('application/yaml')).toBe('yaml');
    expect(syntaxOf('text/x-yaml; charset=utf-8')).toBe('yaml');
    expect(syntaxOf('application/vnd.otel.collector+yaml')).toBe('yaml');
    expect(syntaxOf('Application/JSON')).toBe('json');
    expect(syntaxOf('application/merge-patch+json')).toBe('json');
    expect(syntaxOf('text/plain')).toBeUndefined();
  });

  it('accepts good YAML, including several documents and the empty body', () => {
    expect(findConfigSyntaxProblem('application/yaml', 'receivers:\n  otlp:\n    protocols: {grpc: {}}\n')).toBeUndefined();
    expect(findConfigSyntaxProblem('text/yaml', 'a: 1\n---\nb: 2\n')).toBeUndefined();
    expect(findConfigSyntaxProblem('text/yaml', '')).toBeUndefined();
  });

  it('names line and column of a YAML error', () => {
    expect(findConfigSyntaxProblem('application/yaml', 'receivers:\n  otlp: {\nexporters: x\n')).toMatchObject({ syntax: 'yaml', line: 3 });
    expect(findConfigSyntaxProblem('application/yaml', 'a: 1\nb: c: d\n')).toEqual({
      syntax: 'yaml',
      line: 2,
      column: 4,
      message: 'Nested mappings are not allowed in compact mappings',
    });
    expect(findConfigSyntaxProblem('application/yaml', 'a: 1\na: 2\n')).toMatchObject({ line: 2, column: 1, message: 'Map keys must be unique' });
    expect(findConfigSyntaxProblem('application/yaml', 'a: 1\n---\nb: [\n')).toMatchObject({ line: 4 });
  });

  it('names line and column of a JSON error', () => {
    expect(findConfigSyntaxProblem('application/json', '{"a": [1, 2]}')).toBeUndefined();
    expect(findConfigSyntaxProblem('application/json', '{\n  "a": 1,\n  "b": }\n')).toEqual({
      syntax: 'json',
      line: 3,
      column: 8,
      message: `expected a value, found '}'`,
    });
    expect(findConfigSyntaxProblem('application/json', '{"a": 1')).toMatchObject({
      line: 1,
      column: 8,
      message: `expected ',' or '}', found the end of the text`,
    });
    expect(findConfigSyntaxProblem('application/json', '')).toMatchObject({ line: 1, column: 1 });
  });

  it('leaves other content types alone', () => {
    expect(findConfigSyntaxProblem('text/plain', '{ not: [json')).toBeUndefined();
  });
});

describe('findJsonSyntaxProblem', () => {
  // Every text JSON.parse refuses, the scanner refuses too, and the other way round.
  it.each([
    '{}',
    '[]',
    '0',
    '-0.5e+3',
    '"x"',
    'true',
    ' null ',
    '{"a":{"b":[1,{"c":"\\u00e9\\n"}]}}',
    '[[],[[]],{}]',
    '',
    ' ',
    '{',
    '[',
    '}',
    '[1,]',
    '{"a":1,}',
    '{a:1}',
    "{'a':1}",
    '01',
    '1.',
    '.5',
    '-',
    '+1',
    'tru',
    'nul',
    '"\\x"',
    '"\\u12"',
    '"a\nb"',
    '"open',
    '[1 2]',
    '{"a" 1}',
    '{"a":1 "b":2}',
    '1 2',
    '{} {}',
    '[1]]',
    'NaN',
  ])('%j', (text) => {
    let parses = true;
    try {
      JSON.parse(text);
    } catch {
      parses = false;
    }
    expect(findJsonSyntaxProblem(text) === undefined).toBe(parses);
  });
});
