// Preloaded (--import) into the servers the conformance suite forks: answers an IPC probe with the process's memory after a full GC, so growth is measured, not guessed.
import { readdirSync } from 'node:fs';

process.on('message', (message) => {
  if (message === null || typeof message !== 'object' || message.type !== 'memory-probe') return;
  // Two passes: the first may only queue finalizers whose memory the second frees.
  globalThis.gc?.();
  globalThis.gc?.();
  const usage = process.memoryUsage();
  process.send?.({
    type: 'memory-probe',
    id: message.id,
    rss: usage.rss,
    heapUsed: usage.heapUsed,
    external: usage.external,
    arrayBuffers: usage.arrayBuffers,
    fds: readdirSync('/proc/self/fd').length,
  });
});
