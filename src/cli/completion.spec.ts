import { PassThrough } from 'node:stream';
import { bashScript, completionRequest, specOf, typeWords, zshScript } from './completion';
import { buildProgram } from './program';

const io = { stdout: { write: () => true }, stderr: { write: () => true }, stdin: new PassThrough(), env: {} };
const root = specOf(buildProgram(io, { exitCode: 0 }));
const slot = (...words: string[]) => completionRequest(root, words).slot;

describe('shell completion', () => {
  it('offers commands first, without hidden ones', () => {
    const s = slot('');
    expect(s).toMatchObject({ kind: 'words' });
    const words = (s as { words: string[] }).words;
    expect(words).toEqual(expect.arrayContaining(['get', 'describe', 'apply', 'wait', 'login', 'completion']));
    expect(words).not.toContain('__complete');
  });

  it('offers resource types, then names of that type', () => {
    expect(slot('get', '')).toEqual({ kind: 'types' });
    expect(slot('get', 'grp', '')).toEqual({ kind: 'names', type: 'grp' });
    expect(slot('describe', '-o', 'yaml', 'rc', 'x')).toEqual({ kind: 'names', type: 'rc' });
    expect(slot('wait', '')).toEqual({ kind: 'words', words: ['agent', 'agentgroup'] });
    expect(slot('restart', 'agent', '')).toEqual({ kind: 'names', type: 'agents' });
    expect(typeWords()).toEqual(expect.arrayContaining(['agents', 'ag', 'agentgroups', 'grp', 'remoteconfigs', 'rc', 'tokens', 'users', 'audit']));
  });

  it('offers subcommands, contexts, flag values and files', () => {
    expect((slot('config', '') as { words: string[] }).words).toEqual(expect.arrayContaining(['view', 'use-context', 'diff', 'rollback']));
    expect(slot('config', 'use-context', '')).toEqual({ kind: 'contexts' });
    expect(slot('config', 'diff', '')).toEqual({ kind: 'names', type: 'remoteconfigs' });
    expect(slot('get', 'ag', '-o', '')).toEqual({ kind: 'words', words: ['table', 'wide', 'json', 'yaml', 'name'] });
    expect(slot('--context', '')).toEqual({ kind: 'contexts' });
    expect(slot('apply', '-f', '')).toBe('files');
    expect(slot('update', 'config', '--group', '')).toEqual({ kind: 'names', type: 'agentgroups' });
    expect((slot('create', '') as { words: string[] }).words).toEqual(expect.arrayContaining(['agentgroup', 'remoteconfig', 'token', 'user']));
    expect(slot('completion', '')).toEqual({ kind: 'words', words: ['bash', 'zsh'] });
  });

  it('offers the flags of the command being typed, globals included', () => {
    const words = (slot('get', 'ag', '--') as { words: string[] }).words;
    expect(words).toEqual(expect.arrayContaining(['--output', '--selector', '--watch', '--all', '--context', '--server']));
  });

  it('ships scripts for bash and zsh that ask opampctl __complete', () => {
    expect(bashScript()).toContain('complete -o default -F _opampctl opampctl');
    expect(bashScript()).toContain('opampctl __complete');
    expect(zshScript()).toMatch(/^#compdef opampctl/);
    expect(zshScript()).toContain('compdef _opampctl opampctl');
  });
});
