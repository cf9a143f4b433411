import { describe, expect, it } from 'vitest';
import { ConfigError, intVar, numberVar, parseEnv, stringVar } from './env.js';

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
