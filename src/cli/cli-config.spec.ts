import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { configPath, ConfigStore, contextNameFor, normaliseServer, parseConfigFile, redacted } from './cli-config';

describe('opampctl config file', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opampctl-config-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is found through --config, OPAMPCTL_CONFIG, XDG_CONFIG_HOME or ~/.config', () => {
    expect(configPath('/a/b.yaml', {})).toBe('/a/b.yaml');
    expect(configPath(undefined, { OPAMPCTL_CONFIG: '/c.yaml' })).toBe('/c.yaml');
    expect(configPath(undefined, { XDG_CONFIG_HOME: '/xdg' })).toBe('/xdg/opampctl/config.yaml');
    expect(configPath(undefined, {})).toBe(path.join(os.homedir(), '.config', 'opampctl', 'config.yaml'));
  });

  it('keeps contexts and credentials in a file only its owner can read', () => {
    const file = path.join(dir, 'nested', 'config.yaml');
    const store = new ConfigStore(file);
    store.setContext('local', 'http://localhost:8080/');
    store.useContext('local');
    store.context('local')!.credentials = { accessToken: 'a', refreshToken: 'r', username: 'ada' };
    store.save();
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const again = new ConfigStore(file);
    expect(again.currentContextName).toBe('local');
    expect(again.context('local')).toEqual({
      name: 'local',
      server: 'http://localhost:8080',
      credentials: { accessToken: 'a', refreshToken: 'r', username: 'ada' },
    });
    // An existing file with looser permissions is tightened on the next save.
    fs.chmodSync(file, 0o644);
    again.save();
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it('drops credentials when a context moves to another server', () => {
    const store = new ConfigStore(path.join(dir, 'c.yaml'));
    store.setContext('x', 'http://a:1');
    store.context('x')!.credentials = { accessToken: 't' };
    store.setContext('x', 'http://a:1');
    expect(store.context('x')!.credentials).toBeDefined();
    store.setContext('x', 'http://b:1');
    expect(store.context('x')!.credentials).toBeUndefined();
  });

  it('refuses unknown contexts and broken files with a message', () => {
    const store = new ConfigStore(path.join(dir, 'missing.yaml'));
    expect(store.config.contexts).toEqual([]);
    expect(() => store.useContext('nope')).toThrow('no context named "nope"');
    expect(() => parseConfigFile('contexts: 3', 'f')).toThrow('f: contexts must be a list');
    expect(() => parseConfigFile('contexts: [{name: a}]', 'f')).toThrow('f: contexts[0] needs a name and a server');
    expect(() => parseConfigFile('a: [', 'f')).toThrow(/^f: not valid YAML/);
    expect(parseConfigFile('', 'f').contexts).toEqual([]);
  });

  it('redacts tokens for config view', () => {
    const cfg = redacted({
      apiVersion: 'v1',
      kind: 'Config',
      contexts: [{ name: 'a', server: 's', credentials: { accessToken: 'secret', refreshToken: 'secret2', username: 'ada' } }],
    });
    expect(cfg.contexts[0].credentials).toEqual({ accessToken: 'REDACTED', refreshToken: 'REDACTED', username: 'ada' });
  });

  it('normalises server URLs and names contexts after them', () => {
    expect(normaliseServer('localhost:8080')).toBe('http://localhost:8080');
    expect(normaliseServer('https://opamp.example.com/api/v1/')).toBe('https://opamp.example.com');
    expect(() => normaliseServer('ftp://x')).toThrow(/http or https/);
    expect(contextNameFor('http://127.0.0.1:8080')).toBe('127.0.0.1-8080');
  });
});
