import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import { chatCall, fakeCatalog, fakeDeployment, OK_RESULT, recordingNext, recordingRouter, silentLogger } from '../../../test/support/stage-fakes.js';
import type { Call, NativeAlternative } from '../call.js';
import type { ResponseFormat } from '../response-format.js';
import { resolveStage } from './resolve.js';
import { routeStage } from './route.js';
import { attemptForm } from './native-alternative.js';

const nativeFormat: ResponseFormat = { chat: () => 'native', stream: () => { throw new Error('unused'); } };
const alternative: NativeAlternative = {
  operation: { kind: 'native', api: 'openai-responses', method: 'responses', costKind: 'completion', request: { model: 'mixed', native: { input: 'hi', store: false } } },
  format: nativeFormat,
  serves: (deployment) => deployment.provider === 'openai',
};
const catalog = fakeCatalog([fakeDeployment('dep-openai', 'mixed'), fakeDeployment('dep-claude', 'mixed', { provider: 'anthropic' })]);

async function resolved(body: Record<string, unknown>, overrides: Partial<Call> = {}): Promise<Call> {
  const next = recordingNext();
  await resolveStage({ catalog, router: recordingRouter(), logger: silentLogger })(chatCall(body, { alternative, ...overrides }), next);
  return next.calls[0];
}

describe('native alternative', () => {
  it('runs an attempt on a deployment that serves the native form natively, and the retry on another provider translated', async () => {
    const router = recordingRouter();
    const next = recordingNext(async (_call, index) => {
      if (index === 0) throw new GatewayError('upstream_error', 'openai returned 500', { upstreamStatus: 500 });
      return OK_RESULT;
    });
    await routeStage({ catalog, router: { ...router, policy: { ...router.policy, numRetries: 1 } } as typeof router, logger: silentLogger })(await resolved({ model: 'mixed', max_tokens: 50 }), next);
    expect(next.calls.map((call) => [call.attempt!.deployment.id, call.operation.kind, call.format === nativeFormat])).toEqual([
      ['dep-openai', 'native', true],
      ['dep-claude', 'chat', false],
    ]);
    // The chat copy's output cap travels to the native request.
    expect(next.calls[0].operation.kind === 'native' && next.calls[0].operation.request.max_tokens).toBe(50);
    expect(next.calls[0].alternative).toBeUndefined();
  });

  it('keeps the translated form when guardrails or an agent apply to the call', async () => {
    const base = await resolved({ model: 'mixed' });
    const attempt = { deployment: catalog.resolve('mixed')!.available[0] } as Call['attempt'];
    expect(attemptForm({ ...base, attempt }).operation.kind).toBe('native');
    expect(attemptForm({ ...base, attempt, agent: 'helper' }).operation.kind).toBe('chat');
    expect(attemptForm({ ...base, attempt, guardrails: { active: [{ name: 'pii' }] as never } }).operation.kind).toBe('chat');
  });
});
