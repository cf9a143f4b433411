#!/usr/bin/env node
// `npm run redis:cluster` / `npm run redis:sentinel`: a throwaway local Redis Cluster or Sentinel group
// on free loopback ports; prints the REDIS_URL to give `npm start`, and removes it all on Ctrl-C.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const kind = process.argv[2];
if (kind !== 'cluster' && kind !== 'sentinel') {
  process.stderr.write('usage: node scripts/redis-group.mjs cluster|sentinel\n');
  process.exit(2);
}
if (spawnSync('redis-server', ['--version']).error !== undefined) {
  process.stderr.write(
    'chatfleet: `redis-server` was not found on PATH. Install Redis 7 (Debian/Ubuntu: `sudo apt-get install redis-server`; ' +
      'macOS: `brew install redis`) and run this again.\n',
  );
  process.exit(2);
}
// The starters are compiled TypeScript: build them the first time.
if (!existsSync(join(root, 'packages/redis-server/dist/cluster.js'))) {
  const built = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b', 'packages/redis-server'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (built.status !== 0) process.exit(built.status ?? 1);
}

const started = Date.now();
process.stderr.write(kind === 'cluster' ? 'starting 3 masters and 3 replicas ...\n' : 'starting a master, a replica and 3 sentinels ...\n');
let group;
try {
  group =
    kind === 'cluster'
      ? await (await import('@chatfleet/redis-server/cluster')).startRedisCluster({ masters: 3, replicasPerMaster: 1, detached: true })
      : await (await import('@chatfleet/redis-server/sentinel')).startSentinelGroup({ replicas: 1, sentinels: 3, detached: true });
} catch (error) {
  process.stderr.write(`chatfleet: could not start the ${kind}: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
const ports = [...(group.nodes ?? []), ...(group.sentinels ?? [])].map((n) => n.port).join(', ');
process.stdout.write(
  `\nA local Redis ${kind === 'cluster' ? 'Cluster' : 'Sentinel group'} is up in ${Date.now() - started} ms (ports ${ports}).\n\n` +
    `  REDIS_URL=${group.url}\n\n` +
    `Start chatfleet on it in another terminal:\n\n  REDIS_URL='${group.url}' npm start\n\n` +
    'Ctrl-C here stops it and removes its files.\n',
);

let stopping = false;
const stop = (signal) => {
  if (stopping) {
    group.killNow();
    process.exit(1);
  }
  stopping = true;
  process.stderr.write(`\n${signal}: stopping the ${kind} ...\n`);
  group.stop().then(
    () => process.exit(0),
    () => {
      group.killNow();
      process.exit(1);
    },
  );
};
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => stop(signal));
// Keep running until a signal comes.
setInterval(() => undefined, 1 << 30);
