import { describe, expect, it } from 'vitest';
import { mintTicket, userSignature, verifyTicket, verifyUserSignature, withToken } from './tickets.js';

describe('tickets', () => {
  const secret = 'test-secret';
  const now = 1_700_000_000_000;

  it('verifies a ticket it minted', () => {
    const token = mintTicket(secret, 'alice', now + 60_000);
    expect(verifyTicket(secret, token, now)).toEqual({ ok: true, ticket: { userId: 'alice', expiresAt: now + 60_000 } });
  });

  it.each([
    ['missing', undefined, 'missing'],
    ['empty', '', 'missing'],
    ['without a signature', 'YWxpY2V8MQ', 'malformed'],
    ['signed with another secret', mintTicket('other', 'alice', now + 60_000), 'forged'],
    ['with a changed body', `${Buffer.from(`mallory|${now + 60_000}`).toString('base64url')}.${mintTicket(secret, 'alice', now + 60_000).split('.')[1]}`, 'forged'],
    ['expired', mintTicket(secret, 'alice', now - 1), 'expired'],
  ])('refuses a ticket %s', (_name, token, reason) => {
    expect(verifyTicket(secret, token, now)).toEqual({ ok: false, reason });
  });

  it('checks user signatures', () => {
    const sig = userSignature('user-secret', 'bob');
    expect(sig).toMatch(/^[0-9a-f]{64}$/);
    expect(verifyUserSignature('user-secret', 'bob', sig)).toBe(true);
    expect(verifyUserSignature('user-secret', 'carol', sig)).toBe(false);
    expect(verifyUserSignature('user-secret', 'bob', undefined)).toBe(false);
    expect(verifyUserSignature('user-secret', 'bob', 'zz')).toBe(false);
  });

  it('puts the token into a websocket URL', () => {
    expect(withToken('ws://127.0.0.1:4000/', 'abc.def')).toBe('ws://127.0.0.1:4000/?token=abc.def');
  });
});
