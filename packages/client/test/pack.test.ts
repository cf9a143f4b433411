// The packed client outside this repository: `npm pack` it, install the tarball into an empty project, then chat from Node, type-check and bundle against it.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureClientBundle, fleetBuilt, REPO, startFleet, type TestFleet } from './support/fleet.js';

const built = fleetBuilt();
let dir: string;
let app: string;
let fleet: TestFleet;

/** Runs a command and returns its stdout; throws with its output when it fails. */
function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stderr}${result.stdout}`);
  return result.stdout;
}

describe.skipIf(!built)('the packed client package', () => {
  beforeAll(async () => {
    ensureClientBundle();
    dir = mkdtempSync(join(tmpdir(), 'chatfleet-pack-'));
    run('npm', ['pack', '-w', '@chatfleet/client', '--pack-destination', dir, '--silent'], REPO);
    // ws too, from this repository's install, so the temporary project installs without the registry.
    run('npm', ['pack', `${REPO}node_modules/ws`, '--silent'], dir);
    app = join(dir, 'app');
    run('mkdir', ['-p', app], dir);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'outside', private: true, type: 'module' }));
    const tarballs = readdirSync(dir).filter((f) => f.endsWith('.tgz'));
    run('npm', ['install', '--offline', '--no-audit', '--no-fund', ...tarballs.map((t) => join(dir, t))], app);
    fleet = await startFleet({ fleetMin: 1 });
  }, 90_000);

  afterAll(async () => {
    await fleet?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('holds the bundle, its types, README and license, and needs neither the protocol package nor zod', () => {
    const tarball = readdirSync(dir).find((f) => f.startsWith('chatfleet-client-'))!;
    const files = execFileSync('tar', ['-tzf', join(dir, tarball)], { encoding: 'utf8' }).trim().split('\n').sort();
    expect(files).toEqual(
      ['LICENSE', 'README.md', 'dist/chatfleet.d.ts', 'dist/chatfleet.d.ts.map', 'dist/chatfleet.js', 'dist/chatfleet.js.map', 'package.json'].map(
        (f) => `package/${f}`,
      ),
    );
    const manifest = JSON.parse(readFileSync(join(app, 'node_modules/@chatfleet/client/package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest.private).toBeUndefined();
    expect(Object.keys(manifest.dependencies as object)).toEqual(['ws']);
    expect(readdirSync(join(app, 'node_modules')).sort()).toEqual(['.package-lock.json', '@chatfleet', 'ws']);
    expect(readdirSync(join(app, 'node_modules/@chatfleet'))).toEqual(['client']);
    const bundle = readFileSync(join(app, 'node_modules/@chatfleet/client/dist/chatfleet.js'), 'utf8');
    // No bare import: only the variable-specifier import of ws, which a browser never reaches.
    expect(bundle).not.toMatch(/from\s*["'`][^./]/);
    expect(bundle).not.toMatch(/import\s*["'`][^./]/);
  });

  it('connects, joins, sends and receives from a Node script', async () => {
    writeFileSync(
      join(app, 'chat.mjs'),
      `import { connect } from '@chatfleet/client';
const [balancer] = process.argv.slice(2);
const alice = await connect({ balancer, user: 'outside-alice' });
const bob = await connect({ balancer, user: 'outside-bob' });
const got = new Promise((resolve) => bob.on('message', (m) => resolve(m)));
await alice.join('outside-room');
await bob.join('outside-room');
const id = await alice.send('outside-room', 'hello from outside');
const message = await got;
console.log(JSON.stringify({ id, message, transport: bob.transport }));
await Promise.all([alice.close(), bob.close()]);
`,
    );
    const out = run(process.execPath, ['chat.mjs', fleet.url], app);
    const result = JSON.parse(out.trim().split('\n').at(-1)!) as { id: string; message: { id: string; from: string; message: string } };
    expect(result.message).toMatchObject({ id: result.id, from: 'outside-alice', message: 'hello from outside' });
  }, 30_000);

  it('type-checks a TypeScript consumer against the shipped .d.ts', () => {
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { strict: true, noEmit: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', lib: ['ES2022', 'DOM'], types: [] }, files: ['use.ts'] }),
    );
    writeFileSync(
      join(app, 'use.ts'),
      `import { connect, ChatClientError, type ChatMessage, type ChatClientOptions } from '@chatfleet/client';
const options: ChatClientOptions = { balancer: ['http://a:3000', 'http://b:3000'], transport: 'sse', startTimeoutMs: 5000 };
export async function main(): Promise<string> {
  const client = await connect(options);
  client.on('message', (m: ChatMessage) => m.chatId.length + m.ts);
  client.on('error', (e: ChatClientError) => e.code);
  // @ts-expect-error: a message has no field "nope"
  client.on('message', (m) => m.nope);
  return client.send('room', 'hi');
}
`,
    );
    run(process.execPath, [`${REPO}node_modules/typescript/bin/tsc`, '-p', app], app);
  }, 30_000);

  it('bundles for a browser with no import left to resolve', async () => {
    writeFileSync(join(app, 'page.js'), `import { connect } from '@chatfleet/client';\nwindow.connect = connect;\n`);
    const { build } = await import('rolldown');
    const result = await build({ input: join(app, 'page.js'), cwd: app, platform: 'browser', write: false, logLevel: 'silent' });
    const code = result.output.map((chunk) => ('code' in chunk ? chunk.code : '')).join('\n');
    expect(code).toContain('window.connect');
    expect(code).not.toMatch(/from\s*["'`]/);
  }, 30_000);
});
