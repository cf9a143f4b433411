// Starts a throwaway Redis Cluster (masters and replicas) on free loopback ports, and removes it.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { freePortOn, startRedisServer, type RedisServer } from './index.js';

/** A running local cluster. */
export interface RedisClusterGroup {
  /** `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,...`: what REDIS_URL takes. */
  url: string;
  /** Every node, masters first as created. */
  nodes: RedisServer[];
  /** Stops every node and removes its files. Idempotent. */
  stop(): Promise<void>;
  /** Kills every node at once; for exit handlers. */
  killNow(): void;
}

export interface RedisClusterOptions {
  masters?: number;
  replicasPerMaster?: number;
  /** `cluster-node-timeout`: how long before a silent master is failed over, ms. Default 2000. */
  nodeTimeoutMs?: number;
  /** The program to run; default `redis-server` from PATH (`redis-cli` is taken from beside it on PATH). */
  bin?: string;
  /** Start the nodes in their own process groups (see RedisServerOptions.detached). */
  detached?: boolean;
  /** More arguments for every node. */
  args?: readonly string[];
}

/**
 * Starts `masters` x (1 + `replicasPerMaster`) cluster nodes on free ports
 * whose cluster bus ports (+10000) are free too, joins them with
 * `redis-cli --cluster create`, and resolves once every node reports
 * `cluster_state:ok` and every replica is in sync.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisClusterGroup> {
  const masters = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 1;
  const dir = await mkdtemp(join(tmpdir(), 'chatfleet-cluster-'));
  const nodes: RedisServer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      const port = await clusterPort();
      nodes.push(
        await startRedisServer({
          port,
          ...(options.bin === undefined ? {} : { bin: options.bin }),
          detached: options.detached ?? false,
          args: [
            '--cluster-enabled', 'yes',
            '--cluster-config-file', join(dir, `nodes-${port}.conf`),
            '--cluster-node-timeout', String(options.nodeTimeoutMs ?? 2000),
            '--dir', dir,
            ...(options.args ?? []),
          ],
        }),
      );
    }
    await run('redis-cli', [
      '--cluster', 'create',
      ...nodes.map((n) => `127.0.0.1:${n.port}`),
      '--cluster-replicas', String(replicas),
      '--cluster-yes',
    ]);
    await until(() => allOk(nodes), 20_000, 'the cluster did not reach cluster_state:ok');
  } catch (error) {
    await stop();
    throw error;
  }
  let stopped: Promise<void> | undefined;
  return {
    url: `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`,
    nodes,
    stop: () => (stopped ??= stop()),
    killNow: () => nodes.forEach((n) => n.killNow()),
  };
}

/** A free port below 55536 whose cluster bus port (port + 10000) is free too. */
async function clusterPort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    try {
      await freePortOn(port);
      await freePortOn(port + 10_000);
      return port;
    } catch {
      // taken: try another
    }
  }
  throw new Error('no free port pair for a cluster node');
}

/**
 * True when every node says the cluster is ok, knows every other node, names
 * the same masters (by address) for the slots as every other node, and every
 * replica's link to its master is up. A client that reads the slot map from
 * any node then sees the final one, not a node still learning its peers.
 */
async function allOk(nodes: RedisServer[]): Promise<boolean> {
  let seen: string | undefined;
  for (const node of nodes) {
    const info = await command(node.port, ['CLUSTER', 'INFO']);
    if (!info.includes('cluster_state:ok') || !info.includes(`cluster_known_nodes:${nodes.length}`)) return false;
    const replication = await command(node.port, ['INFO', 'replication']);
    if (replication.includes('role:slave') && !replication.includes('master_link_status:up')) return false;
    const masters = slotMasters(await command(node.port, ['CLUSTER', 'SLOTS']));
    if (masters === undefined || (seen !== undefined && masters !== seen)) return false;
    seen = masters;
  }
  return true;
}

/** The masters of a CLUSTER SLOTS reply as a sorted "host:port" list; undefined when one has no address yet. */
function slotMasters(reply: string): string | undefined {
  let ranges: unknown;
  try {
    ranges = JSON.parse(reply);
  } catch {
    return undefined;
  }
  if (!Array.isArray(ranges)) return undefined;
  const masters = new Set<string>();
  for (const range of ranges) {
    const master = Array.isArray(range) ? (range[2] as unknown) : undefined;
    if (!Array.isArray(master) || typeof master[0] !== 'string' || master[0] === '') return undefined;
    masters.add(`${master[0]}:${String(master[1])}`);
  }
  return [...masters].sort().join(',');
}

/** Sends one command to the node on `port` and returns its reply as text. */
export async function command(port: number, args: string[]): Promise<string> {
  const client = createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: false, connectTimeout: 2000 } });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const reply = await client.sendCommand(args);
    return typeof reply === 'string' ? reply : JSON.stringify(reply);
  } finally {
    client.destroy();
  }
}

/** Polls `check` every 100 ms until it is true, or rejects with `message` after `ms`. */
export async function until(check: () => Promise<boolean>, ms: number, message: string): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(message);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function run(program: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${program} ${args.join(' ')} exited with ${code}: ${output.slice(-800)}`));
    });
  });
}

/** The node id (`CLUSTER MYID`) of the node on `port`. */
export async function nodeId(port: number): Promise<string> {
  return command(port, ['CLUSTER', 'MYID']);
}

/** The port of the master that serves `slot`, as the node on `askPort` sees it. */
export async function masterOfSlot(askPort: number, slot: number): Promise<number> {
  const shards = JSON.parse(await command(askPort, ['CLUSTER', 'SLOTS'])) as Array<[number, number, [string, number, string]]>;
  const shard = shards.find(([from, to]) => slot >= from && slot <= to);
  if (shard === undefined) throw new Error(`no master serves slot ${slot}`);
  return Number(shard[2][1]);
}

/**
 * Moves one slot from its master to the master on `toPort` the way
 * `redis-cli --cluster reshard` does: IMPORTING on the target, MIGRATING on
 * the source, MIGRATE of every key in batches, then SETSLOT NODE on every
 * master. Resolves with the source's port.
 */
export async function migrateSlot(group: RedisClusterGroup, slot: number, toPort: number): Promise<number> {
  const fromPort = await masterOfSlot(toPort, slot);
  if (fromPort === toPort) return fromPort;
  const [fromId, toId] = await Promise.all([nodeId(fromPort), nodeId(toPort)]);
  await command(toPort, ['CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', fromId]);
  await command(fromPort, ['CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', toId]);
  for (;;) {
    const keys = JSON.parse(await command(fromPort, ['CLUSTER', 'GETKEYSINSLOT', String(slot), '100'])) as string[];
    if (keys.length === 0) break;
    await command(fromPort, ['MIGRATE', '127.0.0.1', String(toPort), '', '0', '5000', 'KEYS', ...keys]);
  }
  const masters: number[] = [];
  for (const node of group.nodes) {
    const role = await command(node.port, ['ROLE']);
    if (role.includes('master')) masters.push(node.port);
  }
  // The target first, so that the slot always has an owner that says so.
  for (const port of [toPort, fromPort, ...masters.filter((p) => p !== toPort && p !== fromPort)]) {
    await command(port, ['CLUSTER', 'SETSLOT', String(slot), 'NODE', toId]);
  }
  return fromPort;
}
