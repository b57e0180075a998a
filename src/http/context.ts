import type { FastifyRequest } from 'fastify';
import type { CallContext } from '../gateway/call-context.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the onRequest hook for every gateway route. */
    call: CallContext | null;
  }
  interface FastifyContextConfig {
    /** Routes that take no API key (liveness, readiness). */
    public?: boolean;
    /** The gateway endpoint a route serves, for usage records of rejected calls. */
    endpoint?: CallContext['endpoint'];
    /** The error envelope the route's clients expect (default: OpenAI's). */
    errorFormat?: 'openai' | 'anthropic' | 'gemini';
    /** The endpoint of a route that serves several (the Gemini methods), read from the URL. */
    endpointOf?: (url: string) => CallContext['endpoint'] | undefined;
    /** The API key may also come as `x-goog-api-key` or `?key=` (Google's clients). */
    googleKey?: boolean;
  }
}

export function callOf(request: FastifyRequest): CallContext {
  if (!request.call) throw new Error('call context missing: the onRequest hook did not run');
  return request.call;
}
