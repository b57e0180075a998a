/**
 * An HTTP proxy in front of a mock upstream that counts every request the gateway sends it and,
 * while `holding`, keeps each request back (unanswered, not yet forwarded) until `release()`: a
 * slow upstream for any wire format, so that a test can see how many calls are in flight at once.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export class CountingProxy {
  url = '';
  /** Requests received (counted when they arrive, before any hold). */
  count = 0;
  /** Requests currently held back. */
  held = 0;
  /** Requests whose connection the gateway has not closed yet and that were not answered in full. */
  open = 0;
  private holding = false;
  private waiting: Array<() => void> = [];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly target: URL;

  /** `target`: the mock's URL (its origin and base path, e.g. "http://127.0.0.1:1234/v1"). */
  constructor(target: string) {
    this.target = new URL(target);
    this.server = createServer((request, response) => void this.relay(request, response));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}${this.target.pathname.replace(/\/$/, '')}`;
    return this.url;
  }

  /** From now on requests are held back until `release()`. */
  hold(): void {
    this.holding = true;
  }

  /** Lets every held request through and stops holding. */
  release(): void {
    this.holding = false;
    const waiting = this.waiting;
    this.waiting = [];
    for (const go of waiting) go();
  }

  private async relay(request: IncomingMessage, response: ServerResponse): Promise<void> {
    this.count += 1;
    this.open += 1;
    response.on('close', () => (this.open -= 1));
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    if (this.holding) {
      this.held += 1;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
      this.held -= 1;
    }
    const headers = { ...request.headers, host: this.target.host };
    const upstream = httpRequest({ host: this.target.hostname, port: this.target.port, method: request.method, path: request.url, headers }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    upstream.on('error', () => response.destroy());
    response.on('close', () => upstream.destroy());
    upstream.end(Buffer.concat(chunks));
  }

  async close(): Promise<void> {
    this.release();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
