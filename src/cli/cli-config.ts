import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { CliError } from './cli-errors';
import { isObject } from './resource-fields';
import { toYaml } from './printers';

/**
 * opampctl's own configuration: named contexts (a server and the credentials cached for it) and
 * the current one, in `~/.config/opampctl/config.yaml` (or `--config` / `OPAMPCTL_CONFIG`). The
 * file holds tokens, so it is always written with mode 0600.
 */

export interface Credentials {
  accessToken?: string;
  refreshToken?: string;
  /** When the access token expires (ISO 8601), if the server said. */
  expiresAt?: string;
  username?: string;
  /** How they were obtained: password, token, github. */
  method?: string;
}

export interface ContextEntry {
  name: string;
  server: string;
  credentials?: Credentials;
}

export interface CliConfigFile {
  apiVersion: 'v1';
  kind: 'Config';
  currentContext?: string;
  contexts: ContextEntry[];
}

export const DEFAULT_SERVER = 'http://localhost:8080';

/** Where the config file is: `--config`, else OPAMPCTL_CONFIG, else $XDG_CONFIG_HOME or ~/.config. */
export function configPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return path.resolve(flag);
  if (env.OPAMPCTL_CONFIG) return path.resolve(env.OPAMPCTL_CONFIG);
  const base = env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'opampctl', 'config.yaml');
}

/** A server URL without a trailing slash or /api/v1 (both are added by the client). */
export function normaliseServer(url: string): string {
  let u: URL;
  try {
    u = new URL(url.includes('://') ? url : `http://${url}`);
  } catch {
    throw new CliError(`"${url}" is not a server URL (e.g. http://localhost:8080)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new CliError(`server URL must be http or https, got "${url}"`);
  return u
    .toString()
    .replace(/\/+$/, '')
    .replace(/\/api\/v1$/, '');
}

/** A context name from a server URL: its host and port. */
export function contextNameFor(server: string): string {
  const u = new URL(server);
  return u.host.replace(/[^A-Za-z0-9.-]+/g, '-');
}

export function emptyConfig(): CliConfigFile {
  return { apiVersion: 'v1', kind: 'Config', contexts: [] };
}

/** Validates what was read; a hand-edited file with a mistake gets a message naming it. */
export function parseConfigFile(text: string, file: string): CliConfigFile {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new CliError(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (raw === null || raw === undefined) return emptyConfig();
  if (!isObject(raw)) throw new CliError(`${file}: expected a mapping with contexts and currentContext`);
  const contexts = raw.contexts ?? [];
  if (!Array.isArray(contexts)) throw new CliError(`${file}: contexts must be a list`);
  const cfg = emptyConfig();
  for (const [i, c] of contexts.entries()) {
    if (!isObject(c) || typeof c.name !== 'string' || typeof c.server !== 'string') throw new CliError(`${file}: contexts[${i}] needs a name and a server`);
    cfg.contexts.push({ name: c.name, server: c.server, ...(isObject(c.credentials) ? { credentials: c.credentials as Credentials } : {}) });
  }
  if (typeof raw.currentContext === 'string') cfg.currentContext = raw.currentContext;
  return cfg;
}

/** The config file, read once and written back whole. */
export class ConfigStore {
  private data: CliConfigFile;

  constructor(readonly file: string) {
    let text: string | undefined;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
    }
    this.data = text === undefined ? emptyConfig() : parseConfigFile(text, file);
  }

  get config(): CliConfigFile {
    return this.data;
  }

  get currentContextName(): string | undefined {
    return this.data.currentContext;
  }

  context(name: string): ContextEntry | undefined {
    return this.data.contexts.find((c) => c.name === name);
  }

  /** Creates or updates a context; the server is kept when not given. */
  setContext(name: string, server?: string): ContextEntry {
    let ctx = this.context(name);
    if (!ctx) {
      ctx = { name, server: server ? normaliseServer(server) : DEFAULT_SERVER };
      this.data.contexts.push(ctx);
    } else if (server) {
      const s = normaliseServer(server);
      // Credentials belong to a server; moving the context drops them.
      if (s !== ctx.server) delete ctx.credentials;
      ctx.server = s;
    }
    return ctx;
  }

  useContext(name: string): void {
    if (!this.context(name)) throw new CliError(`no context named "${name}" (see opampctl config get-contexts)`);
    this.data.currentContext = name;
  }

  deleteContext(name: string): void {
    if (!this.context(name)) throw new CliError(`no context named "${name}"`);
    this.data.contexts = this.data.contexts.filter((c) => c.name !== name);
    if (this.data.currentContext === name) delete this.data.currentContext;
  }

  /** Writes the file with mode 0600 (it may hold tokens), atomically. */
  save(): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, toYaml(this.data), { mode: 0o600 });
    fs.chmodSync(tmp, 0o600);
    fs.renameSync(tmp, this.file);
  }
}

/** The config as `config view` shows it: tokens replaced unless `--raw`. */
export function redacted(cfg: CliConfigFile): CliConfigFile {
  return {
    ...cfg,
    contexts: cfg.contexts.map((c) => {
      if (!c.credentials) return c;
      const cred: Credentials = { ...c.credentials };
      if (cred.accessToken) cred.accessToken = 'REDACTED';
      if (cred.refreshToken) cred.refreshToken = 'REDACTED';
      return { ...c, credentials: cred };
    }),
  };
}
