import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';

/** Figures of one process read from /proc (Linux), never estimated. */
export interface ProcSample {
  at: number;
  rssBytes: number;
  /** Peak RSS of the process's life (VmHWM). */
  hwmBytes: number;
  /** utime + stime in seconds. */
  cpuSeconds: number;
  threads: number;
}

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // 100 on every Linux we know of
}

export function readProc(pid: number): ProcSample | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(f[11]);
    const stime = Number(f[12]);
    return {
      at: Date.now(),
      rssBytes: kb('VmRSS'),
      hwmBytes: kb('VmHWM'),
      cpuSeconds: (utime + stime) / clkTck,
      threads: Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? 0),
    };
  } catch {
    return undefined;
  }
}

/** CPU seconds spent by the whole machine (all processes, all CPUs) since boot. */
export function machineCpuSeconds(): number {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
    const busy = f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0);
    return busy / clkTck;
  } catch {
    return NaN;
  }
}

/** Open file descriptors of a process (sockets included). */
/** Of one thread (the main thread by default): nanoseconds on a CPU, nanoseconds runnable but waiting for one, timeslices. */
export function readSchedstat(pid: number, tid = pid): { runNs: number; waitNs: number; slices: number } | undefined {
  try {
    const [runNs, waitNs, slices] = fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    return { runNs, waitNs, slices };
  } catch {
    return undefined;
  }
}

export function countFds(pid: number): number | undefined {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}

/** The soft RLIMIT_NOFILE of a process. */
export function fdLimit(pid: number | 'self' = 'self'): number | undefined {
  try {
    const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(fs.readFileSync(`/proc/${pid}/limits`, 'utf8'));
    if (!m) return undefined;
    return m[1] === 'unlimited' ? Infinity : Number(m[1]);
  } catch {
    return undefined;
  }
}

/** Direct children of `pid` whose command name matches. */
export function childrenOf(pid: number, name?: RegExp): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid && (!name || name.test(comm))) out.push(Number(e));
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

/** CPU use between two samples, in percent of one core. */
export function cpuPercent(a: ProcSample | undefined, b: ProcSample | undefined): number {
  if (!a || !b || b.at <= a.at) return NaN;
  return ((b.cpuSeconds - a.cpuSeconds) / ((b.at - a.at) / 1000)) * 100;
}

/** Samples a set of named processes once a second; keeps the series and the peaks. */
export class ProcSampler {
  readonly series: Record<string, { t: number; rssMiB: number; cpuPct: number }[]> = {};
  readonly peakRss: Record<string, number> = {};
  private last: Record<string, ProcSample | undefined> = {};
  private timer?: NodeJS.Timeout;

  constructor(private readonly pids: Record<string, number | undefined>) {}

  /** Measures one more process from now on (a replica started later). */
  add(name: string, pid: number | undefined): void {
    this.pids[name] = pid;
  }

  start(intervalMs = 1000): void {
    this.record();
    this.timer = setInterval(() => this.record(), intervalMs);
    this.timer.unref();
  }

  /** Current readings (also counted for the peaks); the once-a-second series is kept apart. */
  sample(): Record<string, ProcSample | undefined> {
    const now: Record<string, ProcSample | undefined> = {};
    for (const [name, pid] of Object.entries(this.pids)) {
      if (!pid) continue;
      const s = readProc(pid);
      now[name] = s;
      if (s) this.peakRss[name] = Math.max(this.peakRss[name] ?? 0, s.rssBytes);
    }
    return now;
  }

  private record(): void {
    for (const [name, s] of Object.entries(this.sample())) {
      if (!s) continue;
      (this.series[name] ??= []).push({ t: s.at, rssMiB: +(s.rssBytes / 2 ** 20).toFixed(1), cpuPct: +cpuPercent(this.last[name], s).toFixed(1) });
      this.last[name] = s;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

/** The machine, as RESULTS.md names it. */
export function machineInfo(): { cpus: number; cpuModel: string; memGiB: number; node: string; kernel: string; summary: string } {
  // availableParallelism is what `nproc` says (CPUs this process may run on).
  const cpus = os.availableParallelism();
  const memGiB = +(os.totalmem() / 2 ** 30).toFixed(1);
  const cpuModel = os.cpus()[0]?.model.trim() ?? 'unknown';
  return {
    cpus,
    cpuModel,
    memGiB,
    node: process.version,
    kernel: os.release(),
    summary: `${cpus} CPU (${cpuModel}), ${memGiB} GiB RAM, Node ${process.version}, Linux ${os.release()}`,
  };
}
