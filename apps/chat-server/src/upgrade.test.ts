import { describe, expect, it } from 'vitest';
import { mintTicket } from '@chatfleet/protocol/tickets';
import { clientErrorRefusal, decideUpgrade, type UpgradePolicy } from './upgrade.js';

const SECRET = 'upgrade-secret';
const NOW = 1_763_877_000_000;
const token = mintTicket(SECRET, 'alice', NOW + 60_000);
const expired = mintTicket(SECRET, 'alice', NOW - 1);
const forged = mintTicket('other-secret', 'alice', NOW + 60_000);

const upgradeHeaders = {
  host: 'chat.example',
  upgrade: 'websocket',
  connection: 'Upgrade',
  'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
  'sec-websocket-version': '13',
};
const policy: UpgradePolicy = { draining: false, allowedOrigins: undefined, authSecret: SECRET, now: NOW };

describe('decideUpgrade', () => {
  it('accepts a valid upgrade with a ticket, and reads a well-formed sinceDirect', () => {
    expect(decideUpgrade('GET', `/?token=${token}&sinceDirect=1763877000123-0`, upgradeHeaders, policy)).toEqual({
      ok: true,
      userId: 'alice',
      key: 'dGhlIHNhbXBsZSBub25jZQ==',
      protocol: undefined,
      sinceDirect: '1763877000123-0',
    });
  });

  it('ignores a malformed sinceDirect', () => {
    const decision = decideUpgrade('GET', `/?token=${token}&sinceDirect=yesterday`, upgradeHeaders, policy);
    expect(decision.ok && decision.sinceDirect).toBeUndefined();
  });

  it.each([
    ['a draining server', 'GET', `/?token=${token}`, {}, { draining: true }, 'draining', 503],
    ['a full server', 'GET', `/?token=${token}`, {}, { full: true }, 'full', 503],
    ['a full server, even without a ticket', 'GET', '/', {}, { full: true }, 'full', 503],
    ['an Origin not allowed', 'GET', `/?token=${token}`, { origin: 'https://evil.example' }, { allowedOrigins: ['https://chat.example'] }, 'origin', 403],
    ['no ticket', 'GET', '/', {}, {}, 'unauthorized', 401],
    ['an expired ticket', 'GET', `/?token=${expired}`, {}, {}, 'unauthorized', 401],
    ['a forged ticket', 'GET', `/?token=${forged}`, {}, {}, 'unauthorized', 401],
    ['a POST', 'POST', `/?token=${token}`, {}, {}, 'method', 405],
    ['no Upgrade header', 'GET', `/?token=${token}`, { upgrade: 'h2c' }, {}, 'handshake', 400],
    ['version 8', 'GET', `/?token=${token}`, { 'sec-websocket-version': '8' }, {}, 'handshake', 400],
    ['a short key', 'GET', `/?token=${token}`, { 'sec-websocket-key': 'c2hvcnQ=' }, {}, 'handshake', 400],
    // The documented order: a draining server says 503 before it looks at the ticket.
    ['no ticket while draining', 'GET', '/', {}, { draining: true }, 'draining', 503],
    ['no ticket from a bad Origin', 'GET', '/', { origin: 'https://evil.example' }, { allowedOrigins: ['https://chat.example'] }, 'origin', 403],
  ])('refuses %s', (_name, method, url, headers, overrides, reason, status) => {
    const decision = decideUpgrade(method, url, { ...upgradeHeaders, ...headers }, { ...policy, ...overrides });
    expect(decision).toMatchObject({ ok: false, reason, status });
  });

  it('accepts a request without Origin (a Node client) and a listed Origin when ALLOWED_ORIGINS is set', () => {
    const allowed = { ...policy, allowedOrigins: ['https://chat.example'] };
    expect(decideUpgrade('GET', `/?token=${token}`, upgradeHeaders, allowed).ok).toBe(true);
    expect(decideUpgrade('GET', `/?token=${token}`, { ...upgradeHeaders, origin: 'https://chat.example' }, allowed).ok).toBe(true);
  });
});

describe('clientErrorRefusal', () => {
  it.each([
    ['ERR_HTTP_REQUEST_TIMEOUT', 'timeout'],
    ['HPE_HEADER_OVERFLOW', 'headers_too_large'],
    ['HPE_INVALID_METHOD', 'bad_http'],
    ['HPE_INVALID_CONSTANT', 'bad_http'],
    [undefined, 'bad_http'],
    ['ECONNRESET', undefined],
    ['EPIPE', undefined],
  ])('maps %s to %s', (code, reason) => {
    expect(clientErrorRefusal(code)).toBe(reason);
  });
});
