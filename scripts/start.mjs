#!/usr/bin/env node
// `npm start`: builds what is out of date, saying what and how long, then runs the balancer in this very process,
// so the signals npm forwards (and a terminal's Ctrl-C or hang-up) reach the balancer itself.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = join(root, 'node_modules/typescript/bin/tsc');

/** One sentence for a person, then exit 2 (a setup problem, not a crash). */
function giveUp(sentence) {
  process.stderr.write(`chatfleet: ${sentence}\n`);
  process.exit(2);
}

/** Says what is happening on stderr, so stdout keeps only the fleet's own log lines. */
function say(line) {
  process.stderr.write(`chatfleet: ${line}\n`);
}

/** Runs a build step in the foreground; stops here when it fails. */
function step(what, command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.error !== undefined) giveUp(`${what} could not run (${result.error.message}); run \`npm install\` and try again.`);
  if (result.status !== 0) giveUp(`${what} failed (see above); nothing was started. Fix the error, or run \`npm ci\` if the install is incomplete.`);
}

/** Newest modification time under `path` (a file or a folder). */
function newest(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  return latest;
}

/** True when `built` is missing or older than any of `sources` (paths under the repository). */
function stale(built, sources) {
  if (!existsSync(join(root, built))) return true;
  const paths = sources.map((p) => join(root, p)).filter(existsSync);
  return Math.max(...paths.map(newest)) > statSync(join(root, built)).mtimeMs;
}

if (!existsSync(tsc)) giveUp('the dependencies are not installed (no node_modules/typescript); run `npm install` first, then `npm start`.');

// npm runs this through `sh -c`, and a shell that is sent SIGTERM dies without
// passing it on: when the parent goes, stop as if it had been passed on.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.kill(process.pid, 'SIGTERM');
}, 500).unref();

const started = performance.now();
const firstBuild = !existsSync(join(root, 'apps/balancer/dist/main.js'));
const dashboardStale = stale('dashboard/dist/index.html', ['dashboard/src', 'dashboard/index.html', 'dashboard/vite.config.ts']);
const bundleStale = stale('packages/client/dist/chatfleet.js', ['packages/client/src', 'packages/protocol/src', 'packages/client/rolldown.config.mjs']);
if (firstBuild) {
  say('first start: building the TypeScript, the browser client and the dashboard; this takes about 10 s (up to 30 s on a slow or busy machine); later starts rebuild only what changed.');
} else {
  const parts = ['TypeScript (tsc -b, nearly free when nothing changed)'];
  if (bundleStale) parts.push('the browser client');
  if (dashboardStale) parts.push('the dashboard');
  say(`checking the build: ${parts.join(', ')}.`);
}
// tsc -b is incremental: nearly free when nothing changed.
step('the TypeScript build (tsc -b)', process.execPath, [tsc, '-b']);
if (bundleStale) step('the browser client bundle', 'npm', ['run', 'bundle', '--silent', '-w', '@chatfleet/client']);
if (dashboardStale) step('the dashboard build (vite build)', 'npm', ['run', 'build', '--silent', '-w', '@chatfleet/dashboard']);
const seconds = (performance.now() - started) / 1000;
if (firstBuild || seconds >= 2) say(`built in ${seconds.toFixed(1)} s; starting Redis, the balancer and the chat servers.`);
await import('../apps/balancer/dist/main.js');
