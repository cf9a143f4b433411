// The protocol package's public surface; `@chatfleet/protocol/tickets` and `/env` are Node-only and live apart.
export * from './ids.js';
export * from './codes.js';
export * from './client-frames.js';
export * from './server-frames.js';
export * from './commands.js';
export * from './keys.js';
export * from './http.js';
export * from './scripts.js';
export * from './abuse.js';
export * from './fallback.js';
