import { describe, expect, it } from 'vitest';
import { describeHttpFailure, describeNetworkFailure } from './errors.js';

describe('describeHttpFailure', () => {
  it.each([
    {
      name: 'uses the message and code of an error body',
      status: 409,
      body: '{"error":"fleet_full","message":"The fleet is at FLEET_MAX (3)."}',
      want: { status: 409, code: 'fleet_full', text: 'The fleet is at FLEET_MAX (3). (fleet_full, HTTP 409)' },
    },
    {
      name: 'says what came back when the body is not an error body',
      status: 502,
      body: '<html>Bad Gateway</html>',
      want: { status: 502, code: 'http_502', text: 'The balancer answered HTTP 502 Bad Gateway: <html>Bad Gateway</html>' },
    },
    {
      name: 'copes with an empty body',
      status: 500,
      body: '',
      want: { status: 500, code: 'http_500', text: 'The balancer answered HTTP 500 Bad Gateway' },
    },
  ])('$name', ({ status, body, want }) => {
    expect(describeHttpFailure(status, 'Bad Gateway', body)).toEqual(want);
  });
});

describe('describeNetworkFailure', () => {
  it('names the cause and suggests the balancer is down', () => {
    expect(describeNetworkFailure(new TypeError('Failed to fetch'))).toEqual({
      status: 0,
      code: 'network',
      text: 'Could not reach the balancer (Failed to fetch). Is it running?',
    });
  });
});
