// How a chat server is started: through a shell that raises its file limit to the hard one, with CHAT_SERVER_NODE_FLAGS before the entry.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { childCommand, RAISE_FILE_LIMIT } from './child-process.js';

describe('childCommand', () => {
  it.each([
    { shell: '/bin/sh', flags: [], expected: { file: '/bin/sh', args: ['-c', RAISE_FILE_LIMIT, '/usr/bin/node', 'main.js'] } },
    { shell: '/bin/sh', flags: ['--max-semi-space-size=1'], expected: { file: '/bin/sh', args: ['-c', RAISE_FILE_LIMIT, '/usr/bin/node', '--max-semi-space-size=1', 'main.js'] } },
    { shell: undefined, flags: ['--max-semi-space-size=1'], expected: { file: '/usr/bin/node', args: ['--max-semi-space-size=1', 'main.js'] } },
  ])('with shell $shell and flags $flags', ({ shell, flags, expected }) => {
    expect(childCommand('main.js', flags, '/usr/bin/node', shell)).toEqual(expected);
  });

  it('starts Node with the soft file limit at the hard one, its arguments intact', () => {
    const script = 'const l=require("fs").readFileSync("/proc/self/limits","utf8").match(/Max open files\\s+(\\S+)\\s+(\\S+)/);console.log(JSON.stringify([l[1],l[2],process.argv.slice(1)]))';
    const { file, args } = childCommand('-e', [], process.execPath, '/bin/sh');
    // A lower soft limit first, as an operator's default would be; the shell raises it again.
    const run = spawnSync('/bin/sh', ['-c', `ulimit -Sn 512; exec "$0" "$@"`, file, ...args, script, 'a b', '$HOME'], { encoding: 'utf8' });
    const [soft, hard, argv] = JSON.parse(run.stdout) as [string, string, string[]];
    expect(soft).toBe(hard);
    expect(argv).toEqual(['a b', '$HOME']);
  });
});
