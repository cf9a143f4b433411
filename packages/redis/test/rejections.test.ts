// The unhandled-rejection guard: node-redis' connection errors are logged and the process serves on; anything else ends it.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ClientClosedError, DisconnectsClientError, ErrorReply, RootNodesUnavailableError, SocketClosedUnexpectedlyError } from 'redis';
import { describe, expect, it } from 'vitest';
import { isRedisConnectionError } from '../src/rejections.js';

const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/** Runs a Node process that installs the guard, leaves `rejection` unhandled, then exits 0 after 200 ms if still alive. */
function runWith(rejection: string): { status: number | null; stdout: string } {
  const script = `
    import { guardRedisRejections } from ${JSON.stringify(dist)};
    import * as redis from 'redis';
    const line = (level) => (fields, message) => console.log(level + ' ' + message + ' ' + (fields.err?.constructor?.name ?? ''));
    guardRedisRejections({ warn: line('warn'), fatal: line('fatal') });
    Promise.reject(${rejection});
    setTimeout(() => { console.log('still serving'); process.exit(0); }, 200);
  `;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: fileURLToPath(new URL('..', import.meta.url)), encoding: 'utf8', timeout: 10_000 });
  return { status: result.status, stdout: result.stdout };
}

describe('isRedisConnectionError', () => {
  it.each([
    { name: 'a replaced client', reason: new DisconnectsClientError(), expected: true },
    { name: 'a closed client', reason: new ClientClosedError(), expected: true },
    { name: 'a socket closed under it', reason: new SocketClosedUnexpectedlyError(), expected: true },
    { name: 'no root node of a cluster reachable', reason: new RootNodesUnavailableError(), expected: true },
    { name: 'an error reply (a script error is a defect, not an outage)', reason: new ErrorReply('ERR bad script'), expected: false },
    { name: 'a plain Error', reason: new Error('bug'), expected: false },
    { name: 'not an Error at all', reason: 'text', expected: false },
  ])('$name: $expected', ({ reason, expected }) => {
    expect(isRedisConnectionError(reason)).toBe(expected);
  });
});

describe('guardRedisRejections', () => {
  it('logs a node-redis connection error left unhandled as a warning, and the process serves on', () => {
    const { status, stdout } = runWith('new redis.DisconnectsClientError()');
    expect(stdout).toContain('warn a Redis connection error went unhandled inside node-redis; serving on DisconnectsClientError');
    expect(stdout).toContain('still serving');
    expect(status).toBe(0);
  });

  it('ends the process with code 1 on any other unhandled rejection, after logging it as fatal', () => {
    const { status, stdout } = runWith("new Error('a defect')");
    expect(stdout).toContain('fatal unhandled promise rejection Error');
    expect(stdout).not.toContain('still serving');
    expect(status).toBe(1);
  });
});
