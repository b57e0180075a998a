/**
 * How long clients may take to send a request, and how many connections one address may hold.
 * Without limits, thousands of unauthenticated clients sending bodies a byte at a time held
 * sockets (and memory) for minutes. These bound receiving the request only: once it has arrived,
 * the response (a stream may run for many minutes) is not cut by them.
 */
import type { GatewayConfig } from '../config/schema.js';

export interface ListenerSettings {
  /** ms to receive the whole request, headers and body (Node's requestTimeout); 0: no limit. */
  requestTimeoutMs: number;
  /** ms to receive the request headers (Node's headersTimeout); 0: no limit. */
  headersTimeoutMs: number;
  /** ms an idle keep-alive connection stays open. */
  keepAliveTimeoutMs: number;
  /** How often Node checks connections against those timeouts. */
  connectionsCheckingIntervalMs: number;
  /** Open connections per client address; 0: no limit. */
  maxConnectionsPerAddress: number;
}

export const DEFAULT_REQUEST_BODY_TIMEOUT_SECONDS = 60;
export const DEFAULT_REQUEST_HEADERS_TIMEOUT_SECONDS = 15;
/** Longer than common load balancers' idle timeout (60 s), so the gateway never closes a connection one is about to reuse. */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS = 65;
export const DEFAULT_MAX_CONNECTIONS_PER_IP = 256;

/** Node checks timeouts every 30 s by default: too coarse for timeouts of a few seconds. */
const MAX_CHECKING_INTERVAL_MS = 30_000;
const MIN_CHECKING_INTERVAL_MS = 250;

/** The listener settings of general_settings; throws when they contradict each other. */
export function listenerSettingsFrom(config: GatewayConfig): ListenerSettings {
  const settings = config.general_settings;
  const requestTimeoutMs = Math.round((settings.request_body_timeout ?? DEFAULT_REQUEST_BODY_TIMEOUT_SECONDS) * 1000);
  const headersTimeoutMs = Math.round((settings.request_headers_timeout ?? DEFAULT_REQUEST_HEADERS_TIMEOUT_SECONDS) * 1000);
  if (requestTimeoutMs > 0 && headersTimeoutMs > requestTimeoutMs) {
    throw new Error(
      `general_settings.request_headers_timeout (${headersTimeoutMs / 1000}s) must not be longer than general_settings.request_body_timeout (${requestTimeoutMs / 1000}s), which covers the headers too`,
    );
  }
  const shortest = Math.min(...[requestTimeoutMs, headersTimeoutMs].filter((timeout) => timeout > 0), MAX_CHECKING_INTERVAL_MS * 4);
  return {
    requestTimeoutMs,
    headersTimeoutMs,
    keepAliveTimeoutMs: Math.round((settings.keep_alive_timeout ?? DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS) * 1000),
    // A quarter of the shortest timeout: a slow client is cut at most 25% late.
    connectionsCheckingIntervalMs: Math.max(MIN_CHECKING_INTERVAL_MS, Math.min(MAX_CHECKING_INTERVAL_MS, Math.floor(shortest / 4))),
    maxConnectionsPerAddress: settings.max_connections_per_ip ?? DEFAULT_MAX_CONNECTIONS_PER_IP,
  };
}
