// Balancer URLs: which are refused at once and why, and the order a list is tried in.
import { describe, expect, it } from 'vitest';
import { BalancerList, checkBalancerUrl } from './balancers.js';
import { ChatClientError } from './errors.js';

describe('checkBalancerUrl', () => {
  it.each([
    ['http://localhost:3000', 'http://localhost:3000'],
    ['https://chat.example/', 'https://chat.example'],
    ['http://127.0.0.1:3000//', 'http://127.0.0.1:3000'],
    [' http://[::1]:3000 ', 'http://[::1]:3000'],
  ])('accepts %j as %j', (raw, expected) => {
    expect(checkBalancerUrl(raw)).toBe(expected);
  });

  it.each([
    ['localhost:3000', /must start with http/],
    ['ws://localhost:3000', /must start with http/],
    ['//localhost:3000', /not a URL/],
    ['', /non-empty string/],
    [undefined, /non-empty string/],
    [3000, /non-empty string/],
  ])('refuses %j with invalid_url', (raw, message) => {
    let error: unknown;
    try {
      checkBalancerUrl(raw);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ChatClientError);
    expect((error as ChatClientError).code).toBe('invalid_url');
    expect((error as ChatClientError).message).toMatch(message);
    expect((error as ChatClientError).retryable).toBe(false);
  });
});

describe('BalancerList', () => {
  it('keeps the current balancer until it fails, then goes round the list', () => {
    const list = new BalancerList(['http://a:1', 'http://b:1', 'http://c:1']);
    expect(list.current).toBe('http://a:1');
    expect(list.current).toBe('http://a:1');
    expect([list.failed(), list.failed(), list.failed()]).toEqual(['http://b:1', 'http://c:1', 'http://a:1']);
  });

  it('takes a single URL as a list of one', () => {
    const list = new BalancerList('http://a:1');
    expect(list.failed()).toBe('http://a:1');
  });

  it.each([[[]], [['http://a:1', 'a:1']], [null]])('refuses %j', (value) => {
    expect(() => new BalancerList(value as string[])).toThrow(ChatClientError);
  });
});
