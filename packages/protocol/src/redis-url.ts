// Reads the three REDIS_URL forms (one Redis, a Sentinel group, a Cluster) into one description; pure.

/** How the fleet reaches Redis. */
export type RedisMode = 'single' | 'sentinel' | 'cluster';

/** One host and port. */
export interface RedisNodeAddress {
  host: string;
  port: number;
}

/** A parsed REDIS_URL. */
export type RedisTarget =
  | { mode: 'single'; url: string }
  | {
      mode: 'sentinel';
      /** The master's name, as the sentinels know it. */
      name: string;
      sentinels: RedisNodeAddress[];
      username: string | undefined;
      password: string | undefined;
      tls: boolean;
    }
  | {
      mode: 'cluster';
      nodes: RedisNodeAddress[];
      username: string | undefined;
      password: string | undefined;
      tls: boolean;
    };

/** A REDIS_URL that is none of the three forms; `message` says what is wrong. */
export class RedisUrlError extends Error {
  readonly code = 'bad_redis_url';
  constructor(message: string) {
    super(message);
    this.name = 'RedisUrlError';
  }
}

/** What REDIS_URL accepts, for error messages and the settings table. */
export const REDIS_URL_FORMS =
  'redis://[user:pass@]host:port, rediss://..., redis+sentinel://[user:pass@]host:port[,host:port...]/<master name> ' +
  'or redis+cluster://[user:pass@]host:port[,host:port...]';

const SCHEME = /^(redis|rediss|redis\+sentinel|rediss\+sentinel|redis\+cluster|rediss\+cluster):\/\/(.*)$/;

/** True when `url` has one of the accepted schemes (the rest is checked by parseRedisUrl). */
export function looksLikeRedisUrl(url: string): boolean {
  return SCHEME.test(url);
}

/**
 * Parses REDIS_URL (SPEC section 4). `redis://` and `rediss://` are left to
 * node-redis as they are; the Sentinel and Cluster forms are split into their
 * nodes, credentials and, for Sentinel, the master's name. The `rediss+`
 * variants (TLS to every node) are an extension.
 */
export function parseRedisUrl(url: string): RedisTarget {
  const match = SCHEME.exec(url);
  if (match === null) throw new RedisUrlError(`REDIS_URL must be one of ${REDIS_URL_FORMS} (got ${JSON.stringify(redactUrl(url))})`);
  const scheme = match[1]!;
  const rest = match[2]!;
  if (scheme === 'redis' || scheme === 'rediss') {
    if (rest === '' || /\s/.test(rest)) throw new RedisUrlError(`REDIS_URL has no host: ${JSON.stringify(redactUrl(url))}`);
    return { mode: 'single', url };
  }
  const tls = scheme.startsWith('rediss');
  const slash = rest.indexOf('/');
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash + 1);
  const at = authority.lastIndexOf('@');
  const { username, password } = at === -1 ? { username: undefined, password: undefined } : credentials(authority.slice(0, at));
  const nodes = (at === -1 ? authority : authority.slice(at + 1)).split(',').map((part) => nodeAddress(part, url));
  if (scheme.endsWith('sentinel')) {
    const name = decodeURIComponent(path.replace(/\/$/, ''));
    if (name === '' || name.includes('/')) {
      throw new RedisUrlError(`a redis+sentinel:// URL ends with /<master name> (got ${JSON.stringify(redactUrl(url))})`);
    }
    return { mode: 'sentinel', name, sentinels: nodes, username, password, tls };
  }
  if (path !== '') throw new RedisUrlError(`a redis+cluster:// URL has no path (got ${JSON.stringify(redactUrl(url))})`);
  return { mode: 'cluster', nodes, username, password, tls };
}

function credentials(userinfo: string): { username: string | undefined; password: string | undefined } {
  const colon = userinfo.indexOf(':');
  const user = decodeURIComponent(colon === -1 ? userinfo : userinfo.slice(0, colon));
  const pass = colon === -1 ? undefined : decodeURIComponent(userinfo.slice(colon + 1));
  return { username: user === '' ? undefined : user, password: pass === '' ? undefined : pass };
}

function nodeAddress(part: string, url: string): RedisNodeAddress {
  const bracketed = /^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/.exec(part);
  const plain = /^([A-Za-z0-9._-]+):(\d{1,5})$/.exec(part);
  const found = bracketed ?? plain;
  const port = Number(found?.[2]);
  if (found === null || port < 1 || port > 65535) {
    throw new RedisUrlError(`each node must be host:port (got ${JSON.stringify(part)} in ${JSON.stringify(redactUrl(url))})`);
  }
  return { host: found[1]!, port };
}

/** Hides a password in a Redis URL for logs and messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, (_all, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    return colon === -1 ? '//***@' : `//${userinfo.slice(0, colon)}:***@`;
  });
}
