import { describe, expect, it } from 'vitest';
import { ArgsError, DEFAULTS, parseArgs, rampAdvice } from './args.js';

function run(argv: string[], env: Record<string, string> = {}) {
  const parsed = parseArgs(argv, env);
  if (parsed.kind !== 'run') throw new Error('expected a run');
  return parsed.args;
}

describe('parseArgs accepts', () => {
  it.each([
    ['no flags: the defaults', [], {}, {}],
    [
      "SPEC section 6's example",
      ['--url', 'http://localhost:3000', '--users', '2000', '--rooms', '5', '--interval', '5000-25000', '--stagger', '100', '--reconnect-delay', '500', '--duration', '60'],
      {},
      { url: 'http://localhost:3000', users: 2000, rooms: 5, intervalMinMs: 5000, intervalMaxMs: 25000, staggerMs: 100, reconnectDelayMs: 500, durationS: 60 },
    ],
    ['--flag=value', ['--users=7', '--rooms=3', '--interval=200-400'], {}, { users: 7, rooms: 3, intervalMinMs: 200, intervalMaxMs: 400 }],
    ['a single interval as MIN=MAX', ['--interval', '300'], {}, { intervalMinMs: 300, intervalMaxMs: 300 }],
    ['--zipf, --json, --room-prefix, --settle', ['--zipf', '1.1', '--json', '--room-prefix', 'lobby-', '--settle', '3'], {}, { zipf: 1.1, json: true, roomPrefix: 'lobby-', settleS: 3 }],
    ['a trailing slash on the url', ['--url', 'http://127.0.0.1:4000/'], {}, { url: 'http://127.0.0.1:4000', urls: ['http://127.0.0.1:4000'] }],
    [
      'several balancers',
      ['--url', 'http://a:3000, http://b:3001/'],
      {},
      { url: 'http://a:3000,http://b:3001', urls: ['http://a:3000', 'http://b:3001'] },
    ],
    ['fractional duration', ['--duration', '2.5'], {}, { durationS: 2.5 }],
    [
      'the environment names',
      [],
      {
        LOAD_BALANCER_URL: 'http://fleet:3000',
        CHATTER_COUNT: '50',
        CHAT_ROOM_COUNT: '2',
        MESSAGE_INTERVAL_MIN_MS: '100',
        MESSAGE_INTERVAL_MAX_MS: '200',
        INITIAL_CONNECT_STAGGER_MS: '0',
        RECONNECT_DELAY_MS: '250',
      },
      { url: 'http://fleet:3000', urls: ['http://fleet:3000'], users: 50, rooms: 2, intervalMinMs: 100, intervalMaxMs: 200, staggerMs: 0, reconnectDelayMs: 250 },
    ],
    ['flags over the environment', ['--users', '9', '--interval', '10-20'], { CHATTER_COUNT: '50', MESSAGE_INTERVAL_MIN_MS: '1' }, { users: 9, intervalMinMs: 10, intervalMaxMs: 20 }],
    ['only MESSAGE_INTERVAL_MIN_MS above the default max', [], { MESSAGE_INTERVAL_MIN_MS: '30000' }, { intervalMinMs: 30000, intervalMaxMs: 30000 }],
    ['empty environment values as unset', [], { CHATTER_COUNT: '' }, { users: DEFAULTS.users }],
  ])('%s', (_name, argv, env, expected) => {
    expect(run(argv, env)).toEqual({ ...DEFAULTS, ...expected });
  });

  it('--help asks for the usage text', () => {
    expect(parseArgs(['--users', '3', '--help'])).toEqual({ kind: 'help' });
  });
});

describe('parseArgs rejects, naming the flag or variable', () => {
  it.each([
    [['--users', '0'], {}, '--users'],
    [['--users', 'many'], {}, '--users'],
    [['--users', '1.5'], {}, '--users'],
    [['--users'], {}, '--users'],
    [['--users', '--rooms', '3'], {}, '--users'],
    [['--rooms', '0'], {}, '--rooms'],
    [['--users', '3', '--rooms', '4'], {}, '--rooms'],
    [['--interval', '400-200'], {}, '--interval'],
    [['--interval', 'fast'], {}, '--interval'],
    [['--interval', '0-10'], {}, '--interval'],
    [['--stagger', '-1'], {}, '--stagger'],
    [['--reconnect-delay', '0'], {}, '--reconnect-delay'],
    [['--duration', '0'], {}, '--duration'],
    [['--zipf', '0'], {}, '--zipf'],
    [['--zipf', 'x'], {}, '--zipf'],
    [['--room-prefix', 'bad prefix'], {}, '--room-prefix'],
    [['--url', 'ftp://x'], {}, '--url'],
    [['--url', 'not a url'], {}, '--url'],
    [['--url', 'http://a:3000,localhost:3001'], {}, '--url'],
    [['--json=yes'], {}, '--json'],
    [['--verbose'], {}, '--verbose'],
    [['users'], {}, 'users'],
    [[], { CHATTER_COUNT: 'lots' }, 'CHATTER_COUNT'],
    [[], { LOAD_BALANCER_URL: 'localhost:3000' }, 'LOAD_BALANCER_URL'],
    [[], { MESSAGE_INTERVAL_MIN_MS: '500', MESSAGE_INTERVAL_MAX_MS: '100' }, 'MESSAGE_INTERVAL_MAX_MS'],
    [[], { RECONNECT_DELAY_MS: '-5' }, 'RECONNECT_DELAY_MS'],
    [[], { CHATTER_COUNT: '2', CHAT_ROOM_COUNT: '3' }, 'CHAT_ROOM_COUNT'],
  ])('%j with env %j -> %s', (argv, env, source) => {
    let caught: unknown;
    try {
      parseArgs(argv, env);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ArgsError);
    expect((caught as ArgsError).source).toBe(source);
    expect((caught as ArgsError).message).toContain(source);
  });
});

describe('rampAdvice', () => {
  it.each([
    [{ users: 2000, staggerMs: 100, durationS: 60 }, true, '--stagger 15 or less, or --duration 400 or more'],
    [{ users: 2000, staggerMs: 20, durationS: 60 }, false, '--stagger 15 or less, or --duration 80 or more'],
    [{ users: 2000, staggerMs: 10, durationS: 60 }, undefined, ''],
    [{ users: 1, staggerMs: 100_000, durationS: 1 }, undefined, ''],
  ])('%j', (args, fatal, fix) => {
    const advice = rampAdvice(args);
    expect(advice?.fatal).toBe(fatal);
    if (advice !== undefined) expect(advice.text).toContain(fix);
  });
});
