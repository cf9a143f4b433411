#!/usr/bin/env node
// `npm start`: builds what is out of date, then runs the balancer in this very process,
// so the signals npm forwards (and a terminal's Ctrl-C) reach the balancer itself.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Runs a build step in the foreground; stops here when it fails. */
function step(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write(`chatfleet: \`${[command, ...args].join(' ')}\` failed; nothing was started\n`);
    process.exit(result.status ?? 1);
  }
}

/** Newest modification time under `path` (a file or a folder). */
function newest(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  return latest;
}

/** The dashboard is rebuilt only when its sources are newer than its build: `vite build` is the slow step. */
function dashboardIsStale() {
  const built = join(root, 'dashboard/dist/index.html');
  if (!existsSync(built)) return true;
  const sources = ['src', 'index.html', 'vite.config.ts'].map((p) => join(root, 'dashboard', p)).filter(existsSync);
  return Math.max(...sources.map(newest)) > statSync(built).mtimeMs;
}

// npm runs this through `sh -c`, and a shell that is sent SIGTERM dies without
// passing it on: when the parent goes, stop as if it had been passed on.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.kill(process.pid, 'SIGTERM');
}, 500).unref();

// tsc -b is incremental: nearly free when nothing changed.
step(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b']);
if (dashboardIsStale()) step('npm', ['run', 'build', '--silent', '-w', '@chatfleet/dashboard']);
await import('../apps/balancer/dist/main.js');
