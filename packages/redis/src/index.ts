// chatfleet's Redis: the link for any REDIS_URL form, scripts by SHA, and the pub/sub bus with its canary.
export { Bus, type BusEvents, type BusHandler, type BusOptions, type BusStats } from './bus.js';
export { removeServer } from './fleet.js';
export { RedisLink, type LinkEvents, type LinkOptions, type NodeClient, type RedisCommands, type RedisMulti } from './link.js';
export { guardRedisRejections, isRedisConnectionError } from './rejections.js';
export { RedisScript } from './script.js';
export {
  looksLikeRedisUrl,
  parseRedisUrl,
  redactUrl,
  REDIS_URL_FORMS,
  RedisUrlError,
  type RedisMode,
  type RedisNodeAddress,
  type RedisTarget,
} from '@chatfleet/protocol/redis-url';
