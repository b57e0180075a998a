/**
 * Fakes for driving the request path's stages without the server: deployments, a catalog, a
 * recording router, a call context, and a `next` that records the calls it is handed.
 */
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { parseConfig } from '../../src/config/load.js';
import { GatewayError } from '../../src/errors.js';
import type { CallContext, GatewayResult } from '../../src/gateway/call-context.js';
import type { Call, Next } from '../../src/gateway/call.js';
import { ClientConnection } from '../../src/gateway/client-connection.js';
import { openAIResponseFormat } from '../../src/gateway/response-format.js';
import type { Deployment } from '../../src/providers/types.js';
import { ModelCatalog, type ModelGroup } from '../../src/routing/catalog.js';
import { routerPolicyFrom } from '../../src/routing/policy.js';
import type { Router } from '../../src/routing/router.js';

export const silentLogger = pino({ level: 'silent' });

export function fakeDeployment(id: string, modelName: string, extra: Partial<Deployment> = {}): Deployment {
  return { id, modelName, provider: 'openai', upstreamModel: `${modelName}-upstream`, apiBase: 'http://upstream.invalid/v1', apiKey: 'sk-upstream', headers: {}, defaultParams: {}, modelInfo: {}, available: true, ...extra } as Deployment;
}

export function fakeCatalog(deployments: Deployment[]): ModelCatalog {
  return new ModelCatalog(deployments);
}

export function policyFrom(routerSettings = 'num_retries: 0'): Router['policy'] {
  return routerPolicyFrom(parseConfig(`router_settings:\n  ${routerSettings.split('\n').join('\n  ')}\n`).config);
}

/** A router that ranks a group's deployments as listed, admits every one, and records what it is told. */
export function recordingRouter(policy = policyFrom()): Router & { events: string[] } {
  const events: string[] = [];
  const router = {
    policy,
    events,
    rank: async (group: ModelGroup) => group.available,
    admit: async () => true,
    coolingUntil: () => undefined,
    allDown: () => false,
    downError: (group: ModelGroup) => new GatewayError('model_unavailable', `"${group.name}" is down`),
    earliestRelease: () => undefined,
    begin: (deployment: Deployment) => events.push(`begin ${deployment.id}`),
    end: (deployment: Deployment) => events.push(`end ${deployment.id}`),
    recordSuccess: (deployment: Deployment) => events.push(`success ${deployment.id}`),
    recordFailure: async (deployment: Deployment, error: GatewayError) => {
      events.push(`failure ${deployment.id} ${error.code}`);
    },
  };
  return router as unknown as Router & { events: string[] };
}

export function fakeContext(overrides: Partial<CallContext> = {}): CallContext {
  return {
    callId: 'call-1',
    startedAt: performance.now(),
    startedAtEpochMs: Date.now(),
    endpoint: 'chat/completions',
    caller: { keyHash: null, keyAlias: null, userId: null, teamId: null, isAdmin: true },
    client: new ClientConnection(),
    recorded: false,
    ...overrides,
  };
}

export function chatCall(body: Record<string, unknown>, overrides: Partial<Call> = {}): Call {
  const request = { messages: [{ role: 'user', content: 'hi' }], ...body } as Call['operation']['request'];
  return { context: fakeContext(), operation: { kind: 'chat', request } as Call['operation'], format: openAIResponseFormat, stream: body.stream === true, ...overrides };
}

export const OK_RESULT: GatewayResult = { kind: 'json', status: 200, headers: {}, body: '{}' };

/** A `next` that records every call it is handed and answers with `answer` (default: OK_RESULT). */
export function recordingNext(answer: (call: Call, index: number) => Promise<GatewayResult> = async () => OK_RESULT): Next & { calls: Call[] } {
  const calls: Call[] = [];
  const next = (async (call: Call) => {
    calls.push(call);
    return answer(call, calls.length - 1);
  }) as Next & { calls: Call[] };
  next.calls = calls;
  return next;
}
