import { describe, expect, it } from 'vitest';
import { chatServerProcessEnv, ConfigError, intVar, numberVar, parseEnv, resolveLogFormat, stringVar } from './env.js';

describe('parseEnv', () => {
  const shape = { PORT: intVar(3000, 0, 65535), FRACTION: numberVar(0.04, 0, 1), HOST: stringVar('127.0.0.1') };

  it('fills defaults', () => {
    expect(parseEnv(shape, {})).toEqual({ PORT: 3000, FRACTION: 0.04, HOST: '127.0.0.1' });
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT', /whole number from 0 to 65535/],
    [{ PORT: '70000' }, 'PORT', /"70000"/],
    [{ PORT: '1.5' }, 'PORT', /whole number/],
    [{ FRACTION: '2' }, 'FRACTION', /number from 0 to 1/],
  ])('names the bad variable in %j', (env, variable, message) => {
    try {
      parseEnv(shape, env);
      expect.unreachable('parseEnv should throw');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).variable).toBe(variable);
      expect((error as ConfigError).message).toMatch(message);
    }
  });
});

describe('resolveLogFormat', () => {
  it.each([
    [undefined, true, 'pretty'],
    [undefined, false, 'json'],
    [undefined, undefined, 'json'],
    ['json', true, 'json'],
    ['pretty', false, 'pretty'],
  ] as const)('setting %s on a terminal %s -> %s', (setting, isTTY, expected) => {
    expect(resolveLogFormat(setting, isTTY)).toBe(expected);
  });
});

describe('chatServerProcessEnv', () => {
  it.each([
    { name: 'one malloc arena by default', base: { PATH: '/bin' }, fixed: { PORT: '0' }, expected: { MALLOC_ARENA_MAX: '1', PATH: '/bin', PORT: '0' } },
    { name: "the starter's own arena count wins", base: { MALLOC_ARENA_MAX: '4' }, fixed: {}, expected: { MALLOC_ARENA_MAX: '4' } },
    { name: 'fixed settings win over the base', base: { PORT: '3001' }, fixed: { PORT: '0' }, expected: { MALLOC_ARENA_MAX: '1', PORT: '0' } },
  ])('$name', ({ base, fixed, expected }) => {
    expect(chatServerProcessEnv(base, fixed)).toEqual(expected);
  });
});
