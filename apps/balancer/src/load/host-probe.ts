// Measures the balancer's host: cores and CPU busy from /proc/stat, and the CPU of the fleet's own processes from /proc/<pid>/stat.
import { cpus, hostname } from 'node:os';
import { readFile } from 'node:fs/promises';
import { hostFigures, parsePidStat, parseProcStat, type HostFigures, type HostSample } from './host-load.js';

export interface HostProbeOptions {
  /** The id this host goes by (HOST_ID; default the machine's hostname). */
  hostId?: string;
  /** The figures cover (at least) this much time, ms: the "last seconds". */
  windowMs: number;
  /** Where /proc is (tests may point elsewhere); default '/proc'. */
  procRoot?: string;
}

/**
 * Samples the host each time `sample` is called (the balancer calls it once a
 * metrics interval) and answers with figures over the last `windowMs`: the
 * oldest kept sample at least that old is the start of the window. The
 * fleet's processes are the balancer itself and the pids it passes (its
 * children), so "busy with others" can be told apart from "busy with us".
 * Off Linux (no /proc) it falls back to `os.cpus()` and knows only its own
 * process.
 */
export class HostProbe {
  readonly hostId: string;
  private readonly samples: HostSample[] = [];
  private readonly procRoot: string;

  constructor(private readonly options: HostProbeOptions) {
    this.hostId = options.hostId ?? hostname();
    this.procRoot = options.procRoot ?? '/proc';
  }

  /** Takes a sample and returns the figures over the window, or undefined after the first sample. */
  async sample(childPids: Iterable<number>, now = Date.now()): Promise<HostFigures | undefined> {
    const current = await this.read([process.pid, ...childPids], now);
    this.samples.push(current);
    // Keep the newest sample that is at least windowMs old, and everything after it.
    while (this.samples.length > 2 && now - this.samples[1]!.at >= this.options.windowMs) this.samples.shift();
    const oldest = this.samples[0]!;
    if (oldest === current) return undefined;
    return hostFigures(this.hostId, oldest, current);
  }

  private async read(pids: number[], at: number): Promise<HostSample> {
    let stat: { cores: number; cpu: { idle: number; total: number } };
    try {
      stat = parseProcStat(await readFile(`${this.procRoot}/stat`, 'utf8'));
    } catch {
      return fallbackSample(at);
    }
    const processes = new Map<number, number>();
    await Promise.all(
      [...new Set(pids)].map(async (pid) => {
        try {
          processes.set(pid, parsePidStat(await readFile(`${this.procRoot}/${pid}/stat`, 'utf8')));
        } catch {
          // exited since: no clean difference for it this time
        }
      }),
    );
    return { at, cores: stat.cores, cpu: stat.cpu, processes };
  }
}

/** `os.cpus()` times (ms) and this process's CPU (ms): the same unit, so shares still hold. */
function fallbackSample(at: number): HostSample {
  let idle = 0;
  let total = 0;
  const all = cpus();
  for (const cpu of all) {
    const t = cpu.times;
    idle += t.idle;
    total += t.user + t.nice + t.sys + t.idle + t.irq;
  }
  const usage = process.cpuUsage();
  return { at, cores: Math.max(1, all.length), cpu: { idle, total }, processes: new Map([[process.pid, (usage.user + usage.system) / 1000]]) };
}
