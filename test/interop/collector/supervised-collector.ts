import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Proc, ROOT } from '../../support/process';
import { freePort } from '../../../src/common/free-port';
export { freePort } from '../../../src/common/free-port';

/** The interop Collector and the OpAMP supervisor, built (or found in the cache) by build.sh. */
export interface CollectorBinaries {
  collector: string;
  supervisor: string;
}

let built: CollectorBinaries | undefined;

/**
 * Builds the Collector and the supervisor once per run (cached across runs under
 * .cache/interop/collector/<versions>/). Progress goes to the test's stderr. A cold build takes
 * many minutes on 2 cores; a warm one well under a second.
 */
export function collectorBinaries(): CollectorBinaries {
  if (built) return built;
  const script = path.join(ROOT, 'test', 'interop', 'collector', 'build.sh');
  let out: string;
  try {
    out = execFileSync('bash', [script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], timeout: 60 * 60_000 }).toString();
  } catch (err) {
    const status = (err as { status?: number }).status;
    throw new Error(
      status === 3
        ? 'The Collector interop suite needs the Go toolchain (`go`), which is not on PATH: install Go to run it.'
        : `Building the interop Collector and supervisor failed: ${(err as Error).message}`,
    );
  }
  const kv = Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((l) => l.split('=', 2) as [string, string]),
  );
  if (!kv.collector || !kv.supervisor) throw new Error(`build.sh printed no binary paths: ${out}`);
  built = { collector: kv.collector, supervisor: kv.supervisor };
  return built;
}


export interface SupervisorOptions {
  /** ws://…/v1/opamp or http://…/v1/opamp */
  endpoint: string;
  /** Extra request headers for the OpAMP connection (e.g. Authorization). */
  headers?: Record<string, string>;
  /** Non-identifying attributes the supervisor adds to the agent description. */
  nonIdentifyingAttributes?: Record<string, string>;
  /** How long after a config change the supervisor decides APPLIED/FAILED (it waits this long). */
  configApplyTimeout?: string;
  /** `agent.validate_config` (default true here; the supervisor's own default is false). */
  validateConfig?: boolean;
  /** Environment of the Collector (`agent.env`); default OTEL_METRIC_EXPORT_INTERVAL=1000. */
  env?: Record<string, string>;
  /** A local config file merged after the remote config, so it wins over it (as an operator's local file would). */
  localOverride?: string;
}

const yamlString = (s: string) => JSON.stringify(s); // a JSON string is a valid YAML scalar

/**
 * One `opampsupervisor` process running the interop Collector, with its storage in a temporary
 * directory. The supervisor's own log (debug) is collected in `log`; the Collector's output is
 * in `agentLog()`.
 */
export class SupervisedCollector {
  readonly uid = randomUUID();
  readonly dir: string;
  readonly storage: string;
  /** Port of the Collector's internal Prometheus telemetry (kept off the default 8888). */
  telemetryPort = 0;
  private proc?: Proc;

  constructor(
    private readonly bins: CollectorBinaries,
    private readonly opts: SupervisorOptions,
  ) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opamp-collector-'));
    this.storage = path.join(this.dir, 'storage');
  }

  /** The supervisor configuration this run uses (also written to `dir/supervisor.yaml`). */
  configYaml(): string {
    const attrs = this.opts.nonIdentifyingAttributes ?? {};
    const headers = this.opts.headers ?? {};
    const lines = [
      'server:',
      `  endpoint: ${yamlString(this.opts.endpoint)}`,
      ...(Object.keys(headers).length ? ['  headers:', ...Object.entries(headers).map(([k, v]) => `    ${yamlString(k)}: ${yamlString(v)}`)] : []),
      'capabilities:',
      // Both default to false: without them the supervisor ignores remote config / reports no status.
      '  accepts_remote_config: true',
      '  reports_remote_config: true',
      '  reports_effective_config: true',
      '  reports_own_metrics: true',
      '  reports_health: true',
      '  accepts_restart_command: true',
      '  reports_available_components: true',
      '  reports_heartbeat: true',
      'agent:',
      `  executable: ${yamlString(this.bins.collector)}`,
      `  instance_id: ${yamlString(this.uid)}`,
      // Run the Collector's own `validate` on every new merged config: an invalid one is reported
      // FAILED with the Collector's message and the running config stays (without it the
      // Collector is restarted on the bad config, crashes, and is restarted again every 5 s).
      `  validate_config: ${this.opts.validateConfig ?? true}`,
      '  bootstrap_timeout: 30s',
      `  config_apply_timeout: ${this.opts.configApplyTimeout ?? '5s'}`,
      '  config_files:',
      `    - ${yamlString(path.join(this.dir, 'base.yaml'))}`,
      '    - $OWN_TELEMETRY_CONFIG',
      '    - $OPAMP_EXTENSION_CONFIG',
      '    - $REMOTE_CONFIG',
      ...(this.opts.localOverride !== undefined ? [`    - ${yamlString(path.join(this.dir, 'override.yaml'))}`] : []),
      '  env:',
      // The OTel SDK's periodic reader exports every 60 s unless told otherwise.
      ...Object.entries(this.opts.env ?? { OTEL_METRIC_EXPORT_INTERVAL: '1000' }).map(([k, v]) => `    ${yamlString(k)}: ${yamlString(v)}`),
      ...(Object.keys(attrs).length
        ? ['  description:', '    non_identifying_attributes:', ...Object.entries(attrs).map(([k, v]) => `      ${yamlString(k)}: ${yamlString(v)}`)]
        : []),
      'storage:',
      `  directory: ${yamlString(this.storage)}`,
      'telemetry:',
      '  logs:',
      '    level: debug',
      '',
    ];
    return lines.join('\n');
  }

  async start(): Promise<this> {
    this.telemetryPort = await freePort();
    // The Collector's default internal telemetry listens on localhost:8888; keep it on a free port.
    // Own-metrics connection settings replace this reader list (the supervisor merges later files on top).
    fs.writeFileSync(
      path.join(this.dir, 'base.yaml'),
      ['service:', '  telemetry:', '    metrics:', '      readers:', '        - pull:', '            exporter:', '              prometheus:', '                host: 127.0.0.1', `                port: ${this.telemetryPort}`, ''].join('\n'),
    );
    if (this.opts.localOverride !== undefined) fs.writeFileSync(path.join(this.dir, 'override.yaml'), this.opts.localOverride);
    const cfg = path.join(this.dir, 'supervisor.yaml');
    fs.writeFileSync(cfg, this.configYaml());
    const child = spawn(this.bins.supervisor, ['--config', cfg], { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = new Proc(child);
    return this;
  }

  /** The supervisor's log so far. */
  get log(): string {
    return this.proc?.out ?? '';
  }

  /** What the Collector wrote (the supervisor sends it to storage/agent.log). */
  agentLog(): string {
    try {
      return fs.readFileSync(path.join(this.storage, 'agent.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** Last lines of both logs, for failure messages. */
  tail(chars = 4000): string {
    return `--- supervisor log (tail) ---\n${this.log.slice(-chars)}\n--- collector log (tail) ---\n${this.agentLog().slice(-chars)}`;
  }

  get running(): boolean {
    return !!this.proc && this.proc.child.exitCode === null && this.proc.child.signalCode === null;
  }

  /** Pids of Collector processes this supervisor started that are still alive (checked against /proc). */
  liveCollectorPids(): number[] {
    const pids = new Set([...this.log.matchAll(/"msg":"Agent process started","pid":(\d+)/g)].map((m) => Number(m[1])));
    return [...pids].filter((pid) => {
      try {
        const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        // Ours (the same binary and this run's storage), and not a zombie.
        return cmdline.includes(this.bins.collector) && cmdline.includes(this.storage) && !/^\d+ \(.*\) Z /.test(stat);
      } catch {
        return false;
      }
    });
  }

  /**
   * Stops the supervisor with SIGINT, the only signal it handles: it then stops the Collector and
   * says goodbye. (SIGTERM kills it outright and leaves the Collector running: the opamp
   * extension's parent-pid watch did not stop such orphans here.) SIGKILL after 20 s. Any Collector
   * of this run still alive afterwards is killed and its pid returned. Removes the temp dir.
   */
  async stop(keepDir = false): Promise<number[]> {
    const p = this.proc;
    if (p && this.running) {
      p.child.kill('SIGINT');
      const t = setTimeout(() => p.child.kill('SIGKILL'), 20_000);
      await p.exited;
      clearTimeout(t);
    }
    const leftovers = this.liveCollectorPids();
    for (const pid of leftovers) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (!keepDir) fs.rmSync(this.dir, { recursive: true, force: true });
    return leftovers;
  }
}
