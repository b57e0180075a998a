/**
 * A request refused before its body was read (no key, a bad key) must not keep its connection:
 * Node would otherwise read and discard the whole body to reuse the connection — minutes for a
 * client that sends a byte at a time, and megabytes for one that sends a large body unasked.
 * "Connection: close" makes Node close the socket once the refusal is sent.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

export function hasUnreadBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return request.headers['transfer-encoding'] !== undefined;
}

export function closeConnectionIfBodyUnread(request: FastifyRequest, reply: FastifyReply): void {
  if (hasUnreadBody(request) && !request.raw.complete) reply.header('connection', 'close');
}
