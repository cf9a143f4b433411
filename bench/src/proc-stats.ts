// Reads CPU time and resident memory of other processes from /proc (Linux), for per-delivery costs.
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

/** utime + stime of a process in microseconds; undefined when the process is gone. */
export function processCpuMicros(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces; fields are counted after its closing paren.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the name: field 3 (state) is index 0, so utime (14) is index 11 and stime (15) index 12.
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1_000_000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Sum of `processCpuMicros` over several processes; undefined when any of them is gone. */
export function totalCpuMicros(pids: readonly number[]): number | undefined {
  let total = 0;
  for (const pid of pids) {
    const micros = processCpuMicros(pid);
    if (micros === undefined) return undefined;
    total += micros;
  }
  return total;
}

/** Resident set size in bytes (VmRSS); undefined when the process is gone. */
export function processRssBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

/**
 * CPU time all processes on the machine have used, in microseconds (the `cpu`
 * line of /proc/stat, idle and iowait left out). Minus the bench's own
 * processes it shows how much else was running during a step.
 */
export function machineBusyMicros(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    const ticks = (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0);
    return (ticks * 1_000_000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}
