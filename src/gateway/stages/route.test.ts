import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import { chatCall, fakeCatalog, fakeDeployment, OK_RESULT, policyFrom, recordingNext, recordingRouter, silentLogger } from '../../../test/support/stage-fakes.js';
import { failureOf, type Call } from '../call.js';
import { resolveStage } from './resolve.js';
import { routeStage } from './route.js';

const catalog = fakeCatalog([fakeDeployment('dep-a1', 'model-a'), fakeDeployment('dep-a2', 'model-a'), fakeDeployment('dep-b', 'model-b')]);
const upstreamDown = () => new GatewayError('upstream_error', 'openai returned 500', { upstreamStatus: 500 });

async function resolved(body: Record<string, unknown>, router = recordingRouter()): Promise<Call> {
  const next = recordingNext();
  await resolveStage({ catalog, router, logger: silentLogger })(chatCall(body), next);
  return next.calls[0];
}

describe('route stage', () => {
  it('retries on the next deployment, then answers; each attempt carries its plan', async () => {
    const router = recordingRouter(policyFrom('num_retries: 1'));
    const next = recordingNext(async (_call, index) => {
      if (index === 0) throw upstreamDown();
      return OK_RESULT;
    });
    expect(await routeStage({ catalog, router, logger: silentLogger })(await resolved({ model: 'model-a' }, router), next)).toBe(OK_RESULT);
    expect(next.calls.map((call) => [call.attempt!.deployment.id, call.attempt!.retries, call.attempt!.target.byok])).toEqual([
      ['dep-a1', 0, false],
      ['dep-a2', 1, false],
    ]);
    expect(router.events).toEqual(['failure dep-a1 upstream_error']);
  });

  it('falls back to the request’s fallback group, counting the fallback', async () => {
    const router = recordingRouter();
    const next = recordingNext(async (call) => {
      if (call.attempt!.group.name === 'model-a') throw upstreamDown();
      return OK_RESULT;
    });
    await routeStage({ catalog, router, logger: silentLogger })(await resolved({ model: 'model-a', fallbacks: ['model-b'] }, router), next);
    expect(next.calls.map((call) => [call.attempt!.deployment.id, call.attempt!.fallbacks, call.attempt!.requested])).toEqual([
      ['dep-a1', 0, 'model-a'],
      ['dep-b', 1, 'model-a'],
    ]);
  });

  it('gives up with the last error, keeping where routing stopped for the usage row', async () => {
    const router = recordingRouter();
    const next = recordingNext(async () => {
      throw upstreamDown();
    });
    const error = (await routeStage({ catalog, router, logger: silentLogger })(await resolved({ model: 'model-a', fallbacks: ['model-b'] }, router), next).catch((caught: GatewayError) => caught)) as GatewayError;
    expect(error.code).toBe('upstream_error');
    const route = failureOf(error)!.route!;
    expect({ group: route.group.name, deployment: route.deployment?.id, retries: route.retries, fallbacks: route.fallbacks, requested: route.requested }).toEqual({
      group: 'model-b',
      deployment: 'dep-b',
      retries: 0,
      fallbacks: 1,
      requested: 'model-a',
    });
  });

  it('does not retry once the client is gone', async () => {
    const router = recordingRouter(policyFrom('num_retries: 3'));
    const call = await resolved({ model: 'model-a' }, router);
    const next = recordingNext(async () => {
      call.context.client.close();
      throw upstreamDown();
    });
    await expect(routeStage({ catalog, router, logger: silentLogger })(call, next)).rejects.toThrow('openai returned 500');
    expect(next.calls).toHaveLength(1);
  });

  it('moves an unreachable deployment’s call to the next one at once, without using a retry', async () => {
    const router = recordingRouter(policyFrom('num_retries: 0'));
    const next = recordingNext(async (_call, index) => {
      if (index === 0) throw new GatewayError('upstream_connection', 'openai: cannot reach the upstream (ECONNREFUSED)', { unreachable: true });
      return OK_RESULT;
    });
    expect(await routeStage({ catalog, router, logger: silentLogger })(await resolved({ model: 'model-a' }, router), next)).toBe(OK_RESULT);
    expect(next.calls.map((call) => [call.attempt!.deployment.id, call.attempt!.retries, call.attempt!.fallbacks])).toEqual([
      ['dep-a1', 0, 0],
      ['dep-a2', 0, 0],
    ]);
    expect(router.events).toEqual(['failure dep-a1 upstream_connection']);
  });

  it('an unreachable deployment is not tried twice in one call; when none is left the retry policy decides', async () => {
    const router = recordingRouter(policyFrom('num_retries: 0'));
    const next = recordingNext(async () => {
      throw new GatewayError('upstream_connection', 'openai: cannot reach the upstream (ECONNREFUSED)', { unreachable: true });
    });
    await expect(routeStage({ catalog, router, logger: silentLogger })(await resolved({ model: 'model-a' }, router), next)).rejects.toThrow('ECONNREFUSED');
    expect(next.calls.map((call) => call.attempt!.deployment.id)).toEqual(['dep-a1', 'dep-a2']);
  });
});
