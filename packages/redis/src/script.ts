// A Lua script known by its SHA, so a link can run it with EVALSHA and fall back to EVAL.
import { createHash } from 'node:crypto';

/** One Lua script and its SHA-1 (what EVALSHA names it by). */
export class RedisScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }
}
