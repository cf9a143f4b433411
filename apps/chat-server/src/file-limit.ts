// The process's open-file limit and the connection cap derived from it: a server stops accepting before it runs out of descriptors.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** The soft and hard RLIMIT_NOFILE, and where they were read. */
export interface FileLimit {
  soft: number;
  hard: number;
  source: 'proc' | 'ulimit' | 'fallback';
}

/** What a limit of "unlimited" counts as. */
const UNLIMITED = 1_048_576;
/** The limit assumed when neither /proc nor a shell can say (the usual default soft limit). */
export const FALLBACK_FILE_LIMIT = 1024;

/**
 * Descriptors kept back from the cap: Redis connections (commands, the
 * subscriber, a durable writer, reconnects), the listening socket, stdio and
 * log files, requests still in their upgrade or refused and being answered,
 * and what Node and libuv open themselves. A server at its cap must still
 * answer 503s, write its metrics and reconnect to Redis.
 */
export function fileReserve(soft: number): number {
  return Math.min(1000, Math.max(32, Math.floor(soft * 0.025)));
}

/**
 * MAX_CONNECTIONS when it is not set: the soft limit minus the reserve (at
 * least 1). 20,000 files give 19,500 connections; 1024 give 992.
 */
export function defaultMaxConnections(soft: number): number {
  return Math.max(1, soft - fileReserve(soft));
}

/**
 * The hard guard under the cap: Node's `server.maxConnections`, past which
 * sockets are closed as soon as they are accepted (no 503), so that a flood
 * of connections that never finish their upgrade cannot take the descriptors
 * the server needs for Redis and its metrics. Half the reserve sits above it.
 */
export function acceptGuard(soft: number, maxConnections: number): number {
  return Math.max(maxConnections + 1, soft - Math.floor(fileReserve(soft) / 2));
}

/** Parses the "Max open files" row of /proc/<pid>/limits; undefined when absent. */
export function parseProcLimits(text: string): { soft: number; hard: number } | undefined {
  const row = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  if (row === null) return undefined;
  const soft = parseLimit(row[1]!);
  const hard = parseLimit(row[2]!);
  return soft === undefined || hard === undefined ? undefined : { soft, hard };
}

function parseLimit(value: string): number | undefined {
  if (value === 'unlimited') return UNLIMITED;
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/**
 * Reads this process's RLIMIT_NOFILE once (Node has no getrlimit): from
 * /proc/self/limits on Linux, else from `ulimit -Sn` / `ulimit -Hn` in a
 * shell (which inherits the limit), else FALLBACK_FILE_LIMIT.
 */
export function readFileLimit(): FileLimit {
  try {
    const parsed = parseProcLimits(readFileSync('/proc/self/limits', 'utf8'));
    if (parsed !== undefined) return { ...parsed, source: 'proc' };
  } catch {
    // Not Linux, or /proc not mounted: ask a shell.
  }
  try {
    const out = execFileSync('/bin/sh', ['-c', 'ulimit -Sn; ulimit -Hn'], { encoding: 'utf8', timeout: 2000 });
    const [soft, hard] = out.trim().split(/\s+/).map(parseLimit);
    if (soft !== undefined && hard !== undefined) return { soft, hard, source: 'ulimit' };
  } catch {
    // No shell either.
  }
  return { soft: FALLBACK_FILE_LIMIT, hard: FALLBACK_FILE_LIMIT, source: 'fallback' };
}
