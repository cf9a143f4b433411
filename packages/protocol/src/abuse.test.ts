import { describe, expect, it } from 'vitest';
import { abuseField, abuseFields, abuseTotal, emptyAbuseCounts, parseAbuseFields, UPGRADE_REFUSALS, UpgradeRefusal } from './abuse.js';

describe('abuse counters in a server hash', () => {
  it('names each field after its group and reason', () => {
    expect(abuseField('refused', 'rate_limited')).toBe('abuse.refused.rate_limited');
    expect(abuseField('closed', '1008')).toBe('abuse.closed.1008');
    expect(abuseField('upgradesRefused', 'timeout')).toBe('abuse.upgradesRefused.timeout');
  });

  it('writes every counter and reads them back', () => {
    const counts = emptyAbuseCounts();
    counts.refused.bad_frame = 3;
    counts.closed['1009'] = 2;
    counts.upgradesRefused.unauthorized = 40;
    const fields = abuseFields(counts);
    expect(Object.keys(fields)).toHaveLength(3 + 5 + UPGRADE_REFUSALS.length);
    expect(fields['abuse.closed.1009']).toBe('2');
    expect(parseAbuseFields({ ...fields, heartbeat: '1' })).toEqual(counts);
    expect(abuseTotal(counts)).toBe(45);
  });

  it('reads a hash from before the counters, or with junk in them, as zeros', () => {
    expect(parseAbuseFields({ id: 'srv-1' })).toEqual(emptyAbuseCounts());
    expect(parseAbuseFields({ 'abuse.refused.bad_frame': 'lots', 'abuse.closed.1002': '-4' })).toEqual(emptyAbuseCounts());
  });

  it('gives each refused upgrade the status it is answered with', () => {
    expect(UpgradeRefusal).toMatchObject({ unauthorized: 401, origin: 403, method: 405, handshake: 400, draining: 503, plain_http: 426, timeout: 408 });
  });
});
