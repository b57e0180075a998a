/**
 * LiteLLM's general_settings.allowed_ips: only the listed client addresses may call the gateway;
 * any other is refused with 403 "Access forbidden: IP address {ip} not allowed." before its key is
 * read. The address is the TCP peer's (request.ip: no X-Forwarded-For is trusted, so a client
 * cannot claim another address). Entries are exact addresses, as on LiteLLM, or CIDR ranges
 * ("10.0.0.0/8"); an IPv4 client seen by a dual-stack listener as "::ffff:a.b.c.d" matches its
 * IPv4 entry. The health probes stay open (on LiteLLM they are outside key authentication, where
 * the check runs), so a load balancer probing from elsewhere still sees the gateway live.
 * The hook is installed only when allowed_ips is set: nothing on the request path otherwise.
 */
import type { BlockList } from 'node:net';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { GatewayError } from '../errors.js';
import { closeConnectionIfBodyUnread } from './early-refusal.js';
import { sendError } from './error-handler.js';

const PROBES = new Set(['/health/liveliness', '/health/liveness', '/health/readiness']);

export function allowedIpsHook(allowed: BlockList) {
  return (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    const ip = request.ip;
    if (allowed.check(ip, ip.includes(':') ? 'ipv6' : 'ipv4') || PROBES.has(request.routeOptions.url ?? '')) {
      done();
      return;
    }
    closeConnectionIfBodyUnread(request, reply);
    sendError(reply, new GatewayError('permission_denied', `Access forbidden: IP address ${ip} not allowed.`));
  };
}
