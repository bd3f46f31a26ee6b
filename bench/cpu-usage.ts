/**
 * CPU seconds per process group over a stretch of a benchmark, read from /proc (Linux): where the
 * machine's cores went while the pipeline ran — the worker, the replay (this process), the broker,
 * PostgreSQL. Elsewhere it reports nothing rather than guess.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * Per pid: its group and CPU seconds so far. Deltas are taken per pid, not per group name: a
 * kernel worker's name carries its current work item (`kworker/u8:2-writeback`, a moment later
 * `kworker/u8:2-events_unbound`), and a name-keyed delta then counted the thread's whole lifetime.
 */
export type CpuSnapshot = ReadonlyMap<number, { readonly group: string; readonly seconds: number }>;

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** `labels`: pid → group name for processes worth naming alone; the rest are grouped by command name. */
export function snapshotCpu(labels: ReadonlyMap<number, string> = new Map()): CpuSnapshot {
  const seconds = new Map<number, { group: string; seconds: number }>();
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return seconds;
  }
  for (const entry of entries) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // the process ended meanwhile
    }
    // comm is in parentheses and may hold spaces; the fields after it are space-separated.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
    const group = labels.get(Number(entry)) ?? (comm === 'postgres' ? postgresRole(entry) : commandGroup(comm));
    seconds.set(Number(entry), { group, seconds: ticks / clockTicks() });
  }
  return seconds;
}

/** Kernel threads by kind (`kworker/u8:2-writeback` → `kworker`), other processes by command name. */
function commandGroup(comm: string): string {
  const kernelThread = /^(kworker|ksoftirqd|kswapd\d*|jbd2|migration|rcu_\w+)\b/.exec(comm);
  return kernelThread ? (kernelThread[1] as string).replace(/\d+$/, '') : comm;
}

/** `postgres: walwriter`, `postgres: autovacuum worker`, … and `postgres: sessions` for client backends. */
function postgresRole(pid: string): string {
  try {
    const title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '');
    const role = title.startsWith('postgres: ') ? title.slice('postgres: '.length) : '';
    // A client backend's title is `user database host(port) state`; background workers name themselves.
    if (/\d+\.\d+\.\d+\.\d+\(\d+\)|\[local\]/.test(role)) return 'postgres: sessions';
    return role ? `postgres: ${role.replace(/\s+(idle|active|launcher)?$/, '')}` : 'postgres';
  } catch {
    return 'postgres';
  }
}

/**
 * CPU seconds spent between two snapshots, per group, largest first (groups under 0.05 s left
 * out). A process that started meanwhile counts whole; one that ended meanwhile is missing.
 */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): [string, number][] {
  const byGroup = new Map<string, number>();
  for (const [pid, now] of after) {
    const delta = now.seconds - (before.get(pid)?.seconds ?? 0);
    byGroup.set(now.group, (byGroup.get(now.group) ?? 0) + delta);
  }
  return [...byGroup].filter(([, s]) => s >= 0.05).sort((a, b) => b[1] - a[1]);
}

/** Seconds all cores together have been idle (or waiting for I/O) since boot; NaN off Linux. */
export function idleSeconds(): number {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/) ?? [];
    return (Number(cpu[4]) + Number(cpu[5])) / clockTicks();
  } catch {
    return Number.NaN;
  }
}

/** A process's peak resident memory so far in MiB (VmHWM, Linux); NaN when unknown. */
export function peakRssMiB(pid: number): number {
  try {
    const kb = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? Number.NaN : Number(kb) / 1024;
  } catch {
    return Number.NaN;
  }
}
