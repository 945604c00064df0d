/**
 * Where a machine's CPU went during a measured run, from /proc (Linux): the server's processes, PostgreSQL's, the
 * kernel's worker threads (write-back and block I/O: the cost of flushes to disk) and the whole machine. Used by
 * bench/processes.ts and bench/audited-reads.ts to tell a limit of the server from a limit of the machine.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** CPU seconds (user + system) of a process, from /proc (USER_HZ = 100); 0 once it is gone. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** Every process of the machine: pid, parent pid and command name (/proc/<pid>/stat). */
function processTable(): { pid: number; ppid: number; comm: string }[] {
  const table = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.push({ pid: Number(entry), ppid: Number(fields[1]), comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) });
    } catch {
      // exited meanwhile
    }
  }
  return table;
}

/** A process and its descendants (the primary and the workers of `serve --workers`). */
export function processTree(root: number): number[] {
  const table = processTable();
  const tree = [root];
  for (let i = 0; i < tree.length; i++) for (const p of table) if (p.ppid === tree[i]) tree.push(p.pid);
  return tree;
}

/** Busy CPU seconds of the whole machine (all cores: everything but idle and iowait), from /proc/stat. */
function machineBusySeconds(): number {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = ticks.map(Number);
  void idle;
  void iowait;
  return (user! + nice! + system! + irq! + softirq! + steal!) / 100;
}

export interface CpuSnapshot {
  at: number;
  /** CPU seconds by pid. */
  server: Map<number, number>;
  postgres: Map<number, number>;
  /** The kernel's worker threads (`kworker/…`: write-back, block I/O, virtio), which do the disk flushes' work. */
  kernel: Map<number, number>;
  machine: number;
}

/** The CPU used so far by `serverPids`, PostgreSQL's processes, the kernel's workers and the machine. */
export function cpuSnapshot(serverPids: number[]): CpuSnapshot {
  const table = processTable();
  const seconds = (processes: { pid: number }[]) => new Map(processes.map((p) => [p.pid, processCpuSeconds(p.pid)]));
  return {
    at: performance.now(),
    server: new Map(serverPids.map((pid) => [pid, processCpuSeconds(pid)])),
    postgres: seconds(table.filter((p) => p.comm === 'postgres' || p.comm.startsWith('postgres:'))),
    kernel: seconds(table.filter((p) => p.comm.startsWith('kworker/'))),
    machine: machineBusySeconds(),
  };
}

/** CPU used between two snapshots by the processes present in both (a backend that ended meanwhile is left out). */
export function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  for (const [pid, cpu] of after) {
    const start = before.get(pid);
    if (start !== undefined && cpu >= start) sum += cpu - start;
  }
  return sum;
}
