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
    /**
     * A route without an `endpoint` that still calls models (an agent run, the Testing Lab): held to
     * what every model call is held to before routing (global_max_parallel_requests, enforced
     * params, client tags: modelCallBody). `request`: the model request is the body's `request`;
     * `none`: the body carries no model request (an agent run's input).
     */
    modelRequest?: 'request' | 'none';
  }
}

export function callOf(request: FastifyRequest): CallContext {
  if (!request.call) throw new Error('call context missing: the onRequest hook did not run');
  return request.call;
}

/**
 * Whether the route calls models, and the model request's body the checks before routing read:
 * the body itself on a model route, its `request` on the Testing Lab, none on an agent run
 * (`undefined` as the body), or `false` for a route that calls no model.
 */
export function modelCallBody(request: FastifyRequest): { body: unknown } | false {
  const config = request.routeOptions.config;
  if (config.endpoint !== undefined) return { body: request.body };
  if (config.modelRequest === 'request') {
    const body = request.body;
    return { body: typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>).request : undefined };
  }
  if (config.modelRequest === 'none') return { body: undefined };
  return false;
}
