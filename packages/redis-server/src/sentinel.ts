// Starts a throwaway Sentinel group (a master, its replicas, three sentinels) on free loopback ports, and removes it.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { command, until } from './cluster.js';
import { freePort, startRedisServer, type RedisServer } from './index.js';

/** A running local Sentinel group. */
export interface SentinelGroup {
  /** `redis+sentinel://127.0.0.1:s1,127.0.0.1:s2,127.0.0.1:s3/<name>`: what REDIS_URL takes. */
  url: string;
  /** The master's name the sentinels monitor. */
  name: string;
  /** The data nodes: the first master, then its replicas (roles change after a failover). */
  nodes: RedisServer[];
  sentinels: RedisServer[];
  /** The port of the node the sentinels call master right now. */
  masterPort(): Promise<number>;
  /** Starts a data node again on `port` as a replica of the current master (e.g. an old master after a kill). */
  restartNode(port: number): Promise<RedisServer>;
  /** Stops every process and removes the files. Idempotent. */
  stop(): Promise<void>;
  killNow(): void;
}

export interface SentinelGroupOptions {
  /** Replicas of the master; default 1. */
  replicas?: number;
  /** Sentinels; default 3 (quorum 2). */
  sentinels?: number;
  name?: string;
  /** `down-after-milliseconds`: how long a silent master takes to be judged down. Default 1000. */
  downAfterMs?: number;
  bin?: string;
  detached?: boolean;
  /** More arguments for every data node. */
  args?: readonly string[];
}

/**
 * Starts a master, its replicas and the sentinels, and resolves once every
 * replica is in sync and every sentinel knows the replicas and the other
 * sentinels (so a failover can be agreed on at once).
 */
export async function startSentinelGroup(options: SentinelGroupOptions = {}): Promise<SentinelGroup> {
  const name = options.name ?? 'chatfleet';
  const replicaCount = options.replicas ?? 1;
  const sentinelCount = options.sentinels ?? 3;
  const quorum = Math.floor(sentinelCount / 2) + 1;
  const dir = await mkdtemp(join(tmpdir(), 'chatfleet-sentinel-'));
  const nodes: RedisServer[] = [];
  const sentinels: RedisServer[] = [];
  const common = {
    ...(options.bin === undefined ? {} : { bin: options.bin }),
    detached: options.detached ?? false,
  };
  const stop = async (): Promise<void> => {
    await Promise.all([...sentinels, ...nodes].map((n) => n.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  const startNode = (port: number | undefined, masterPort: number | undefined) =>
    startRedisServer({
      ...common,
      ...(port === undefined ? {} : { port }),
      // A replica writes the RDB of its full sync to its dir: keep it in the group's own.
      args: ['--dir', dir, ...(masterPort === undefined ? [] : ['--replicaof', '127.0.0.1', String(masterPort)]), ...(options.args ?? [])],
    });
  try {
    const master = await startNode(undefined, undefined);
    nodes.push(master);
    for (let i = 0; i < replicaCount; i++) nodes.push(await startNode(undefined, master.port));
    for (let i = 0; i < sentinelCount; i++) {
      const port = await freePort();
      const file = join(dir, `sentinel-${port}.conf`);
      await writeFile(
        file,
        [
          `sentinel monitor ${name} 127.0.0.1 ${master.port} ${quorum}`,
          `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 1000}`,
          `sentinel failover-timeout ${name} 10000`,
          `sentinel parallel-syncs ${name} 1`,
          `dir ${dir}`,
          '',
        ].join('\n'),
      );
      sentinels.push(
        await startRedisServer({ ...common, port, configFile: file, bare: true, args: ['--sentinel'], readyText: '+monitor master' }),
      );
    }
    await until(
      async () => {
        for (const replica of nodes.slice(1)) {
          if (!(await command(replica.port, ['INFO', 'replication'])).includes('master_link_status:up')) return false;
        }
        for (const sentinel of sentinels) {
          const known = JSON.parse(await command(sentinel.port, ['SENTINEL', 'REPLICAS', name])) as unknown[];
          const peers = JSON.parse(await command(sentinel.port, ['SENTINEL', 'SENTINELS', name])) as unknown[];
          if (known.length < replicaCount || peers.length < sentinelCount - 1) return false;
        }
        return true;
      },
      30_000,
      'the sentinel group did not settle',
    );
  } catch (error) {
    await stop();
    throw error;
  }
  const masterPort = async (): Promise<number> => {
    const reply = JSON.parse(await command(sentinels[0]!.port, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name])) as string[];
    return Number(reply[1]);
  };
  let stopped: Promise<void> | undefined;
  return {
    url: `redis+sentinel://${sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/${name}`,
    name,
    nodes,
    sentinels,
    masterPort,
    restartNode: async (port) => {
      const node = await startNode(port, await masterPort());
      nodes.push(node);
      return node;
    },
    stop: () => (stopped ??= stop()),
    killNow: () => [...sentinels, ...nodes].forEach((n) => n.killNow()),
  };
}
