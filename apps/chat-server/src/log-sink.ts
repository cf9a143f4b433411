// Where a managed chat server's log lines go: its stdout (a pipe the balancer relays) until that balancer is gone, then a file.
import { openSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogSink } from './log.js';

/** The file an orphaned or adopted chat server logs to: `<os tmpdir>/chatfleet-<server id>.log`. */
export function orphanLogPath(serverId: string): string {
  return join(tmpdir(), `chatfleet-${serverId}.log`);
}

/**
 * A log sink that writes to stdout and can be moved to a file. A managed
 * server's stdout and stderr are pipes read by its balancer; when that
 * balancer dies the pipes have no reader and every write fails with EPIPE.
 * Those errors are swallowed here (they must never stop a server that is
 * serving clients), and `toFile` sends every later line to a file instead,
 * appended, so an adopted server's log is still found in one place.
 */
export class SwitchableSink implements LogSink {
  /** The log file's descriptor once the balancer is gone; written synchronously, so the last lines before exit are kept. */
  private fd: number | undefined;

  constructor() {
    for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  }

  write(line: string): void {
    if (this.fd !== undefined) {
      if (this.fd === -1) return;
      try {
        writeSync(this.fd, line);
      } catch {
        // A full disk must not stop a server that is serving clients.
      }
      return;
    }
    try {
      process.stdout.write(line);
    } catch {
      // EPIPE on a synchronous pipe write: the reader is gone; the next lines go to the file.
    }
  }

  /** From now on, lines go to `path` (appended). Returns the path. */
  toFile(path: string): string {
    if (this.fd === undefined) {
      try {
        this.fd = openSync(path, 'a');
      } catch {
        // No file to write to: lines are dropped rather than written to a pipe nobody reads.
        this.fd = -1;
      }
    }
    return path;
  }
}
