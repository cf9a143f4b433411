// A TCP proxy for fault tests and measurements: forwards to a Redis, and can black-hole a chosen connection without closing it.
import { createServer, connect, type Server, type Socket } from 'node:net';

/** One proxied connection. */
export interface ProxiedConnection {
  /** Everything the client sent so far (kept to 4 KB), to tell a subscriber from a command connection. */
  sent: string;
  /** Stops forwarding both ways; the sockets stay open, so neither end notices. */
  blackhole(): void;
  readonly blackholed: boolean;
  client: Socket;
  upstream: Socket;
}

/** A running proxy. */
export interface TcpProxy {
  /** `redis://127.0.0.1:<port>` */
  url: string;
  port: number;
  readonly connections: readonly ProxiedConnection[];
  /** Closes the listener and every connection. */
  stop(): Promise<void>;
}

/** Starts a proxy on a free loopback port that forwards every connection to 127.0.0.1:`targetPort`. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const connections: ProxiedConnection[] = [];
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    let blackholed = false;
    const entry: ProxiedConnection = {
      sent: '',
      client,
      upstream,
      get blackholed() {
        return blackholed;
      },
      blackhole() {
        blackholed = true;
      },
    };
    connections.push(entry);
    client.on('data', (chunk: Buffer) => {
      if (entry.sent.length < 4096) entry.sent += chunk.toString('latin1');
      if (!blackholed) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!blackholed) client.write(chunk);
    });
    const close = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    connections,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const c of connections) {
          c.client.destroy();
          c.upstream.destroy();
        }
        server.close(() => resolve());
      }),
  };
}
