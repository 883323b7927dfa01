import { ApiError, CliError, describeFetchFailure, errorLine, exitCodeOf, formatProblem, oneLine, UsageError } from './cli-errors';

describe('error lines', () => {
  it('formats a problem document as one kubectl-like line', () => {
    expect(formatProblem(404, { title: 'Not Found', status: 404, detail: 'agentgroup "x" not found' })).toBe(
      'Error from server (404 Not Found): agentgroup "x" not found',
    );
  });

  it('appends field errors the detail does not already name', () => {
    const line = formatProblem(400, {
      title: 'Bad Request',
      detail: 'Invalid request',
      errors: [
        { field: 'spec.selector', message: 'unexpected "("' },
        { field: 'metadata.name', message: 'must be a DNS label' },
      ],
    });
    expect(line).toBe('Error from server (400 Bad Request): Invalid request (spec.selector: unexpected "("; metadata.name: must be a DNS label)');
    const named = formatProblem(400, { title: 'Bad Request', detail: 'Invalid: spec.selector: bad', errors: [{ field: 'spec.selector', message: 'bad' }] });
    expect(named).toBe('Error from server (400 Bad Request): Invalid: spec.selector: bad');
  });

  it('stays on one line whatever the server sends, and copes with a bare status', () => {
    expect(formatProblem(502, { detail: '<html>\n<body>Bad gateway</body>\n</html>' }, 'Bad Gateway')).toBe(
      'Error from server (502 Bad Gateway): <html> <body>Bad gateway</body> </html>',
    );
    expect(formatProblem(500, {})).toBe('Error from server (500 Error)');
    expect(oneLine('a\n\n  b\tc')).toBe('a b c');
    expect(oneLine('x'.repeat(600)).length).toBe(500);
  });

  it('maps errors to lines and exit codes: 1 for errors, 2 for usage', () => {
    expect(errorLine(new ApiError(409, { title: 'Conflict', detail: 'in use' }))).toBe('Error from server (409 Conflict): in use');
    expect(errorLine(new CliError('no such file'))).toBe('error: no such file');
    expect(errorLine('plain')).toBe('error: plain');
    expect(exitCodeOf(new CliError('x'))).toBe(1);
    expect(exitCodeOf(new UsageError('x'))).toBe(2);
    expect(exitCodeOf(new Error('x'))).toBe(1);
  });

  it('names the cause of a failed connection', () => {
    const refused = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    expect(describeFetchFailure(refused, 'http://h:1')).toBe('cannot reach the server at http://h:1: ECONNREFUSED');
    expect(describeFetchFailure(Object.assign(new Error('t'), { name: 'TimeoutError' }), 'http://h:1')).toBe('the server at http://h:1 did not answer in time');
  });
});
