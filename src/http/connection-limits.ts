/**
 * Caps the connections one client address holds open. Request timeouts bound how long each
 * connection may dawdle; this bounds how many one address can open at once, so a single client
 * cannot exhaust the process's sockets. A connection over the cap is answered 429 on its first
 * request (before authentication and before its body is read) and closed; one that sends nothing
 * is closed after a short grace. Behind a reverse proxy every client shares the proxy's address:
 * raise the cap (or set 0) there and limit per client at the proxy.
 */
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { GatewayError } from '../errors.js';
import { sendError } from './error-handler.js';

/** How long a connection over the cap may take to send the request that is answered with 429. */
const REFUSAL_GRACE_MS = 1_000;

export function limitConnectionsPerAddress(app: FastifyInstance, maxPerAddress: number, logger: Logger): void {
  if (maxPerAddress <= 0) return;
  const open = new Map<string, number>();
  const refused = new WeakSet<Socket>();
  app.server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    const count = (open.get(address) ?? 0) + 1;
    open.set(address, count);
    socket.once('close', () => {
      const remaining = (open.get(address) ?? 1) - 1;
      if (remaining <= 0) open.delete(address);
      else open.set(address, remaining);
    });
    if (count <= maxPerAddress) return;
    // The first refusal of a burst is logged; the rest would only repeat it.
    if (count === maxPerAddress + 1) logger.warn({ address, limit: maxPerAddress }, 'connection refused: too many open connections from one address (general_settings.max_connections_per_ip)');
    refused.add(socket);
    setTimeout(() => socket.destroy(), REFUSAL_GRACE_MS).unref();
  });
  app.addHook('onRequest', (request, reply, done) => {
    if (!refused.has(request.raw.socket)) {
      done();
      return;
    }
    reply.header('connection', 'close');
    sendError(
      reply,
      new GatewayError('rate_limit_exceeded', `too many open connections from your address: at most ${maxPerAddress} at once (general_settings.max_connections_per_ip); reuse connections or close idle ones`, {
        retryAfterSeconds: 1,
        headers: { 'retry-after': '1' },
      }),
    );
  });
}
