// The balancer URLs a client may provision from: checked at once, then tried in turn, moving on after a failure.
import { ChatClientError, ClientErrorCode } from './errors.js';

/**
 * Checks one balancer URL: an absolute http:// or https:// URL. Throws
 * `invalid_url` otherwise (`'localhost:3000'` parses as a URL whose scheme
 * is `localhost:`, so the scheme is checked, not only the syntax). Returns
 * the URL without a trailing slash.
 */
export function checkBalancerUrl(raw: unknown): string {
  if (typeof raw !== 'string' || raw.trim() === '') {
    throw new ChatClientError(ClientErrorCode.invalidUrl, `a balancer URL must be a non-empty string like http://localhost:3000 (got ${JSON.stringify(raw)})`);
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ChatClientError(ClientErrorCode.invalidUrl, `balancer URL ${JSON.stringify(raw)} is not a URL; write it like http://localhost:3000`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ChatClientError(
      ClientErrorCode.invalidUrl,
      `balancer URL ${JSON.stringify(raw)} must start with http:// or https:// (like http://localhost:3000)`,
    );
  }
  return raw.trim().replace(/\/+$/, '');
}

/**
 * The list of balancers, in the order given. `current` is the one to ask
 * next; a failure moves on to the next one (round robin), a success keeps
 * it. Every URL is checked when the list is made.
 */
export class BalancerList {
  readonly urls: readonly string[];
  #index = 0;

  constructor(balancer: string | readonly string[]) {
    const list = typeof balancer === 'string' ? [balancer] : balancer;
    if (!Array.isArray(list) || list.length === 0) {
      throw new ChatClientError(ClientErrorCode.invalidUrl, 'balancer must be a URL or a non-empty list of URLs');
    }
    this.urls = list.map(checkBalancerUrl);
  }

  /** The balancer to ask now. */
  get current(): string {
    return this.urls[this.#index] as string;
  }

  /** The current balancer failed: the next one is asked next time. Returns it. */
  failed(): string {
    this.#index = (this.#index + 1) % this.urls.length;
    return this.current;
  }
}
