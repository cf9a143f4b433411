// Forces a full garbage collection in another Node process through its inspector, so idle memory is weighed without garbage.
import WebSocket from 'ws';

/** The flag that opens a server's inspector on a free loopback port. */
export const INSPECT_FLAG = '--inspect=127.0.0.1:0';

/**
 * Runs `HeapProfiler.collectGarbage` twice (the second frees what the first
 * only finalized) and returns the heap's used bytes after it.
 */
export async function collectGarbage(url: string, timeoutMs = 10_000): Promise<number | undefined> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('inspector did not open')), timeoutMs);
      ws.once('open', () => {
        clearTimeout(timer);
        resolve();
      });
      ws.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    let nextId = 0;
    const call = (method: string): Promise<Record<string, unknown>> =>
      new Promise((resolve, reject) => {
        const id = ++nextId;
        const timer = setTimeout(() => reject(new Error(`inspector ${method} timed out`)), timeoutMs);
        const onMessage = (data: Buffer): void => {
          const reply = JSON.parse(data.toString()) as { id?: number; result?: Record<string, unknown> };
          if (reply.id !== id) return;
          clearTimeout(timer);
          ws.off('message', onMessage);
          resolve(reply.result ?? {});
        };
        ws.on('message', onMessage);
        ws.send(JSON.stringify({ id, method }));
      });
    await call('HeapProfiler.collectGarbage');
    await call('HeapProfiler.collectGarbage');
    const usage = await call('Runtime.getHeapUsage');
    return typeof usage.usedSize === 'number' ? usage.usedSize : undefined;
  } finally {
    ws.terminate();
  }
}
