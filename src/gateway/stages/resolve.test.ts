import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import type { PlatformLayer } from '../../platform/layer.js';
import { chatCall, fakeCatalog, fakeDeployment, recordingNext, recordingRouter, silentLogger } from '../../../test/support/stage-fakes.js';
import { failureOf } from '../call.js';
import { resolveStage } from './resolve.js';

const catalog = fakeCatalog([fakeDeployment('dep-a', 'model-a'), fakeDeployment('dep-b', 'model-b')]);
const router = recordingRouter();

describe('resolve stage', () => {
  it('hands next the group and a copy of the body without "fallbacks"; the client body is untouched', async () => {
    const body = { model: 'model-a', fallbacks: ['model-b'], temperature: 0.2 };
    const call = chatCall(body);
    const next = recordingNext();
    await resolveStage({ catalog, router, logger: silentLogger })(call, next);
    const handed = next.calls[0];
    expect(handed.resolution!.group.name).toBe('model-a');
    expect(handed.resolution!.reachable.fallbackChain('general')).toEqual(['model-b']);
    expect(handed.operation.request).not.toHaveProperty('fallbacks');
    expect(call.operation.request).toHaveProperty('fallbacks', ['model-b']);
    expect(handed.modelName).toBe('model-a');
  });

  it('refuses an unknown model without calling next, keeping the name for the usage row', async () => {
    const call = chatCall({ model: 'nope' });
    const next = recordingNext();
    const error = await resolveStage({ catalog, router, logger: silentLogger })(call, next).catch((caught: GatewayError) => caught);
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).code).toBe('model_not_found');
    expect(failureOf(error as GatewayError)?.call.modelName).toBe('nope');
    expect(next.calls).toHaveLength(0);
  });

  it('applies the platform’s model choice (auto) and level cap to the copy only', async () => {
    const platform = {
      resolveModel: () => ({ modelName: 'model-b', chosen: true, level: 'eco', levelModel: 'model-b', maxTokens: 100 }),
    } as unknown as PlatformLayer;
    const body = { model: 'auto', power_level: 'eco', max_tokens: 5000 };
    const call = chatCall(body);
    const next = recordingNext();
    await resolveStage({ catalog, router, logger: silentLogger, platform })(call, next);
    const handed = next.calls[0];
    expect(handed.operation.request).toMatchObject({ model: 'model-b', max_tokens: 100 });
    expect(handed.operation.request).not.toHaveProperty('power_level');
    expect(handed.level).toEqual({ level: 'eco', levelModel: 'model-b' });
    expect(call.operation.request).toMatchObject({ model: 'auto', power_level: 'eco', max_tokens: 5000 });
  });
});
