// Runs the protocol's Lua scripts by SHA (EVALSHA), loading them with EVAL when Redis does not know them yet.
import { createHash } from 'node:crypto';
import type { RedisClientType } from 'redis';

/** A node-redis client as `createClient({ url })` makes it (default modules, RESP3). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export type Redis = RedisClientType<{}, {}, {}, 3, {}>;

export interface ScriptArgs {
  keys: string[];
  arguments: string[];
}

/** One Lua script, run by SHA with an EVAL fallback on NOSCRIPT. */
export class LuaScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** Runs the script; the reply is whatever the script returns. */
  async run(client: Redis, args: ScriptArgs): Promise<unknown> {
    try {
      return await client.evalSha(this.sha, args);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) {
        return client.eval(this.source, args);
      }
      throw error;
    }
  }
}
