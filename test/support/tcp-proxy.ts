/**
 * A TCP proxy in front of a server (Redis), that a test can cut — every connection reset and new
 * ones refused, as when the server dies — and restore on the same port; and that can lose the
 * server's replies (loseReplies): what clients send still reaches the server and runs there, and
 * its answers are dropped, as when the network fails between a command and its reply. Other suites
 * keep using the real server undisturbed.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private losing = false;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<void> {
    const server = createServer((client) => {
      const upstream = createConnection({ host: this.targetHost, port: this.targetPort });
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream);
      upstream.on('data', (chunk: Buffer) => {
        if (!this.losing) client.write(chunk);
      });
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as { port: number }).port;
  }

  /** From now until the next cut, the server's replies are dropped (commands still reach it). */
  loseReplies(): void {
    this.losing = true;
  }

  /** The server "dies": connections reset, the port refuses new ones. */
  async cut(): Promise<void> {
    this.losing = false;
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The server is back, on the same port. */
  restore(): Promise<void> {
    return this.start(this.port);
  }

  close(): Promise<void> {
    return this.cut();
  }
}
