import { ApiClient } from './api-client';
import { configPath, ConfigStore, ContextEntry, DEFAULT_SERVER, normaliseServer } from './cli-config';
import { UsageError } from './cli-errors';
import { parseDuration } from './human-time';

/** Options every command accepts (see `opampctl --help`). */
export interface GlobalOptions {
  config?: string;
  context?: string;
  server?: string;
  requestTimeout?: string;
  verbose?: boolean;
}

/** Where output goes; a test or a pipe sees no terminal. */
export interface Io {
  stdout: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  stderr: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

/** Shared by the commands of one run: the exit code when a command failed in part but went on. */
export interface RunState {
  exitCode: number;
}

export const processIo = (): Io => ({ stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env });

/** What a command needs at run time: the config file, the chosen context, a client and the terminal. */
export class CliRuntime {
  private storeCache?: ConfigStore;
  private clientCache?: ApiClient;

  constructor(
    readonly globals: GlobalOptions,
    readonly io: Io,
    readonly state: RunState = { exitCode: 0 },
  ) {}

  /** Reports an error line and makes the run end with exit code 1, without stopping the command. */
  fail(line: string): void {
    this.err(line);
    this.state.exitCode = Math.max(this.state.exitCode, 1);
  }

  get store(): ConfigStore {
    this.storeCache ??= new ConfigStore(configPath(this.globals.config, this.io.env));
    return this.storeCache;
  }

  /** The context in use: `--context`, else OPAMPCTL_CONTEXT, else the current one; undefined when there is none. */
  get contextName(): string | undefined {
    return this.globals.context ?? this.io.env.OPAMPCTL_CONTEXT ?? this.store.currentContextName;
  }

  get context(): ContextEntry | undefined {
    const name = this.contextName;
    if (!name) return undefined;
    const ctx = this.store.context(name);
    if (!ctx && (this.globals.context || this.io.env.OPAMPCTL_CONTEXT)) throw new UsageError(`no context named "${name}" (see opampctl config get-contexts)`);
    return ctx;
  }

  /** `--server`, else OPAMPCTL_SERVER, else the context's, else http://localhost:8080. */
  get server(): string {
    const s = this.globals.server ?? this.io.env.OPAMPCTL_SERVER ?? this.context?.server ?? DEFAULT_SERVER;
    return normaliseServer(s);
  }

  get timeoutMs(): number {
    const t = this.globals.requestTimeout;
    if (t === undefined) return 30_000;
    const ms = parseDuration(t);
    if (ms === undefined || ms <= 0) throw new UsageError(`--request-timeout must be a duration such as 30s, got "${t}"`);
    return ms;
  }

  /** A client for the chosen server with the context's credentials (kept only when they are for that server). */
  get client(): ApiClient {
    if (this.clientCache) return this.clientCache;
    const server = this.server;
    const ctx = this.context;
    const credentials = ctx && ctx.server === server ? ctx.credentials : undefined;
    this.clientCache = new ApiClient({
      server,
      credentials,
      token: this.io.env.OPAMPCTL_TOKEN || undefined,
      timeoutMs: this.timeoutMs,
      trace: this.globals.verbose ? (line) => this.io.stderr.write(`> ${line}\n`) : undefined,
      onCredentials: (c) => {
        if (!ctx || ctx.server !== server) return;
        if (c) ctx.credentials = c;
        else delete ctx.credentials;
        this.store.save();
      },
    });
    return this.clientCache;
  }

  out(text: string): void {
    this.io.stdout.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
  }

  err(line: string): void {
    this.io.stderr.write(line.endsWith('\n') ? line : `${line}\n`);
  }

  /** Width for tables: the terminal's, else COLUMNS, else unlimited (pipes get whole values). */
  get tableWidth(): number | undefined {
    if (this.io.stdout.isTTY && this.io.stdout.columns) return this.io.stdout.columns;
    const env = Number(this.io.env.COLUMNS);
    return Number.isInteger(env) && env > 0 ? env : undefined;
  }

  /** Colour only on a terminal and unless NO_COLOR is set. */
  get color(): boolean {
    return Boolean(this.io.stdout.isTTY) && !this.io.env.NO_COLOR;
  }

  async readStdin(): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of this.io.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
    return Buffer.concat(chunks).toString('utf8');
  }
}
