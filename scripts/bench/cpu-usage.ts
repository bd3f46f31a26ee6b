/**
 * CPU seconds per process group over a stretch of a benchmark, read from /proc (Linux): where the
 * machine's cores went while the pipeline ran — the worker, the replay (this process), the broker,
 * PostgreSQL. Elsewhere it reports nothing rather than guess.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export type CpuSnapshot = ReadonlyMap<string, number>;

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
  const seconds = new Map<string, number>();
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
    const group = labels.get(Number(entry)) ?? (comm === 'postgres' ? postgresRole(entry) : comm);
    seconds.set(group, (seconds.get(group) ?? 0) + ticks / clockTicks());
  }
  return seconds;
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

/** CPU seconds spent between two snapshots, per group, largest first (groups under 0.05 s left out). */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): [string, number][] {
  return [...after]
    .map(([group, s]) => [group, s - (before.get(group) ?? 0)] as [string, number])
    .filter(([, s]) => s >= 0.05)
    .sort((a, b) => b[1] - a[1]);
}
