/**
 * A logging destination stand-in (generic_api): records each POST's headers and JSON body, and
 * answers with `status` (200 by default; set it to 503 to play a collector that refuses).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MockServer } from './mock-server.js';

export interface ReceivedPost {
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export class MockLogReceiver extends MockServer {
  readonly posts: ReceivedPost[] = [];
  status = 200;

  start(): Promise<string> {
    return this.listen();
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    this.posts.push({ path: request.url ?? '', headers: request.headers, body: text ? JSON.parse(text) : undefined });
    response.writeHead(this.status, { 'content-type': 'application/json' }).end(this.status < 300 ? '{"ok":true}' : '{"error":"unavailable"}');
  }

  /** Every item of every JSON-array body received. */
  items<T = Record<string, unknown>>(): T[] {
    return this.posts.flatMap((post) => (Array.isArray(post.body) ? (post.body as T[]) : []));
  }
}
