import { describe, expect, it } from 'vitest';
import type { ResolvedKey } from '../../auth/key-directory.js';
import type { KeyRecord, UserRecord } from '../../auth/principals.js';
import { GatewayError } from '../../errors.js';
import { ByokDirectory } from '../../platform/byok.js';
import { PlatformLayer } from '../../platform/layer.js';
import { platformSchema, platformSettingsFrom } from '../../platform/settings.js';
import { LocalLimitsState } from '../../state/local-limits-state.js';
import { chatCall, fakeCatalog, fakeContext, fakeDeployment, OK_RESULT, recordingNext, recordingRouter, silentLogger } from '../../../test/support/stage-fakes.js';
import { compose, failureOf, type Call } from '../call.js';
import { resolveStage } from './resolve.js';
import { RULE_HEADER, rulesStage } from './rules.js';

const catalog = fakeCatalog([
  fakeDeployment('dep-local', 'ollama-llama', { provider: 'ollama', upstreamModel: 'llama3' }),
  fakeDeployment('dep-groq', 'fast-llama', { provider: 'groq', upstreamModel: 'llama-3.1-8b' }),
  fakeDeployment('dep-coder', 'coder', { modelInfo: { quality_score: 80 } }),
  fakeDeployment('dep-vision', 'vision', { modelInfo: { supports_vision: true } }),
  fakeDeployment('dep-premium', 'premium', { modelInfo: { quality_score: 95 } }),
]);

function platformWith(yaml: Record<string, unknown>): PlatformLayer {
  const settings = platformSettingsFrom(platformSchema.parse(yaml))!;
  return new PlatformLayer({ settings, catalog, limits: new LocalLimitsState(), byok: new ByokDirectory(undefined, silentLogger), logger: silentLogger, isHealthy: () => true });
}

const limits = { models: [], maxBudgetMicros: null, softBudgetMicros: null, budgetDuration: null, budgetPeriodStart: null, spendMicros: 0, rpmLimit: null, tpmLimit: null, maxParallelRequests: null, metadata: {}, blocked: false, createdAt: 1, updatedAt: 1 };

function callerOfTier(tier: string, keyAlias: string | null = null): Call['context']['caller'] {
  const user: UserRecord = { ...limits, userId: `u-${tier}`, email: null, alias: null, role: 'internal_user', tier };
  const key: KeyRecord = { ...limits, id: 'k1', hash: 'h1', prefix: 'sk-…1', alias: keyAlias, userId: user.userId, teamId: null, aliases: {}, expiresAt: null };
  const principal: ResolvedKey = { key, user };
  return { keyHash: 'h1', keyId: 'k1', keyAlias, userId: user.userId, teamId: null, isAdmin: false, principal };
}

const tiers = {
  free: { markup: 0, models: ['ollama*', 'groq/*'] },
  starter: { markup: 0.4, power_levels: ['eco'] },
  enterprise: { markup: 0.8 },
};

const rules = [
  { name: 'code', priority: 20, match: { task: 'code' }, action: { route_to: ['coder', 'premium'] } },
  { name: 'images', priority: 30, match: { has_images: true }, action: { route_to: 'vision', max_tokens_cap: 50 } },
  { name: 'long-prompts', priority: 40, match: { min_prompt_tokens: 1000 }, action: { set_power_level: 'eco' } },
  { name: 'off', priority: 1, enabled: false, match: {}, action: { deny_models: ['*'] } },
];

/** rules → resolve → a recording next: what the call would go on with. */
async function run(platform: PlatformLayer, call: Call) {
  const next = recordingNext();
  const chain = compose([rulesStage({ catalog, platform }), resolveStage({ catalog, platform, router: recordingRouter(), logger: silentLogger })], next);
  const result = await chain(call);
  return { result, handed: next.calls[0] };
}

const asTier = (tier: string, body: Record<string, unknown>, extra: Partial<Call['context']> = {}) => chatCall(body, { context: fakeContext({ caller: callerOfTier(tier), ...extra }) });

describe('rules stage: tier gating', () => {
  const platform = platformWith({ tiers, routing_rules: [] });

  it('lets a free user reach models matching its patterns (by group name or provider/upstream)', async () => {
    expect((await run(platform, asTier('free', { model: 'ollama-llama' }))).handed.resolution!.group.name).toBe('ollama-llama');
    expect((await run(platform, asTier('free', { model: 'fast-llama' }))).handed.resolution!.group.name).toBe('fast-llama');
  });

  it('refuses a model outside the tier with 403 model_not_in_tier naming the tier and its models; next is not called', async () => {
    const error = (await run(platform, asTier('free', { model: 'premium' })).catch((caught) => caught)) as GatewayError;
    expect(error).toBeInstanceOf(GatewayError);
    expect(error.status).toBe(403);
    expect(error.code).toBe('model_not_in_tier');
    expect(error.message).toContain('tier "free"');
    expect(error.message).toContain('ollama*, groq/*');
  });

  it('refuses a fallback outside the tier', async () => {
    const error = (await run(platform, asTier('free', { model: 'ollama-llama', fallbacks: ['premium'] })).catch((caught) => caught)) as GatewayError;
    expect(error.code).toBe('model_not_in_tier');
    expect(error.param).toBe('fallbacks');
  });

  it('auto chooses only among the tier’s models, even at precision', async () => {
    const { handed } = await run(platform, asTier('free', { model: 'auto', power_level: 'precision' }));
    expect(['ollama-llama', 'fast-llama']).toContain(handed.resolution!.group.name);
  });

  it('refuses a power level the tier does not include, and runs auto at the tier’s level', async () => {
    const error = (await run(platform, asTier('starter', { model: 'premium', power_level: 'precision' })).catch((caught) => caught)) as GatewayError;
    expect(error.code).toBe('power_level_not_in_tier');
    expect(error.status).toBe(403);
    const { handed } = await run(platform, asTier('starter', { model: 'auto' }));
    expect(handed.level?.level).toBe('eco');
  });

  it('a tier without a models list allows every model; the master key is not held to any tier', async () => {
    expect((await run(platform, asTier('enterprise', { model: 'premium' }))).handed.resolution!.group.name).toBe('premium');
    expect((await run(platform, chatCall({ model: 'premium' }))).handed.limits).toBeUndefined();
  });
});

describe('rules stage: routing rules', () => {
  const platform = platformWith({ tiers, routing_rules: rules });

  it('routes task "code" (header) to the rule’s first model, the rest become fallbacks, and names the rule', async () => {
    const call = asTier('enterprise', { model: 'premium' }, { requestedTask: 'code' });
    const { result, handed } = await run(platform, call);
    expect(handed.resolution!.group.name).toBe('coder');
    expect(handed.resolution!.reachable.fallbackChain('general')).toEqual(['premium']);
    expect(handed.rule).toEqual({ name: 'code' });
    expect(result.headers[RULE_HEADER]).toBe('code');
    expect(call.operation.request.model).toBe('premium');
  });

  it('names the rule on a stream’s headers too, and hands the pump on untouched', async () => {
    const pump = async () => undefined;
    const next = recordingNext(async () => ({ kind: 'stream', headers: { 'x-switchboard-model-group': 'coder' }, pump }));
    const result = await rulesStage({ catalog, platform })(asTier('enterprise', { model: 'premium', stream: true }, { requestedTask: 'code' }), next);
    expect(result.kind).toBe('stream');
    expect(result.headers).toEqual({ 'x-switchboard-model-group': 'coder', [RULE_HEADER]: 'code' });
    expect(result.kind === 'stream' && result.pump).toBe(pump);
  });

  it('takes the task from a task:<name> tag too', async () => {
    const { handed } = await run(platform, asTier('enterprise', { model: 'premium', tags: ['task:code'] }));
    expect(handed.rule?.name).toBe('code');
  });

  it('skips route_to models the caller may not call: a free user’s code request has no callable target', async () => {
    const error = (await run(platform, asTier('free', { model: 'ollama-llama' }, { requestedTask: 'code' })).catch((caught) => caught)) as GatewayError;
    expect(error.code).toBe('model_unavailable');
    expect(error.message).toContain('routing rule "code"');
    expect(failureOf(error)?.call.modelName).toBeUndefined();
  });

  it('routes requests with images to the vision model and caps max_tokens', async () => {
    const body = { model: 'premium', max_tokens: 500, messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] }] };
    const { handed } = await run(platform, asTier('enterprise', body));
    expect(handed.rule?.name).toBe('images');
    expect(handed.resolution!.group.name).toBe('vision');
    expect(handed.operation.request.max_tokens).toBe(50);
  });

  it('sets the power level of long prompts (counted locally, only when a rule asks)', async () => {
    const { handed } = await run(platform, asTier('enterprise', { model: 'auto', messages: [{ role: 'user', content: 'word '.repeat(1500) }] }));
    expect(handed.rule?.name).toBe('long-prompts');
    expect(handed.level?.level).toBe('eco');
    const short = await run(platform, asTier('enterprise', { model: 'auto' }));
    expect(short.handed.rule).toBeUndefined();
    expect(short.result).toBe(OK_RESULT);
  });

  it('a disabled rule never applies', async () => {
    const { handed } = await run(platform, asTier('enterprise', { model: 'premium' }));
    expect(handed.resolution!.group.name).toBe('premium');
  });

  it('deny_models refuses with the rule’s name', async () => {
    const denying = platformWith({ tiers, routing_rules: [{ name: 'no-premium', match: { tiers: ['starter'] }, action: { deny_models: ['prem*'] } }] });
    const error = (await run(denying, asTier('starter', { model: 'premium' })).catch((caught) => caught)) as GatewayError;
    expect(error.code).toBe('model_not_allowed');
    expect(error.message).toContain('routing rule "no-premium"');
    expect((await run(denying, asTier('starter', { model: 'coder' }))).handed.rule?.name).toBe('no-premium');
  });
});

describe('rules never widen access (a client-set task header cannot reach a model the key or tier may not call)', () => {
  const platform = platformWith({ tiers, routing_rules: rules });
  const reachedModels: string[] = [];
  const restricted = (tier: string, models: string[]): Call['context']['caller'] => {
    const caller = callerOfTier(tier);
    const principal = caller.principal!;
    return { ...caller, principal: { ...principal, key: { ...principal.key, models } } };
  };

  for (const [tier, keyModels] of [['free', []], ['enterprise', ['fast-llama']], ['starter', ['ollama-llama']], ['enterprise', ['fast-llama', 'coder']], ['enterprise', []]] as const) {
    it(`${tier} tier, key models [${keyModels.join(', ')}]: task "code" routes to coder/premium only where both allow them`, async () => {
      const call = chatCall({ model: 'fast-llama', messages: [{ role: 'user', content: 'fix my code' }] }, { context: fakeContext({ caller: restricted(tier, [...keyModels]), requestedTask: 'code' }) });
      const outcome = await run(platform, call).catch((caught: unknown) => caught);
      if (outcome instanceof GatewayError) {
        // Refused before any model was resolved: 403 by a list, or 503 when the rule has no target the caller may call.
        expect(['model_not_allowed', 'model_not_in_tier', 'model_unavailable']).toContain(outcome.code);
        expect(failureOf(outcome)?.call.resolution).toBeUndefined();
        return;
      }
      const reached = (outcome as Awaited<ReturnType<typeof run>>).handed.resolution!.group.name;
      const tierModels = (tiers as Record<string, { models?: string[] }>)[tier].models;
      if (keyModels.length > 0) expect(keyModels).toContain(reached);
      if (tierModels) expect(['ollama-llama', 'fast-llama']).toContain(reached);
      reachedModels.push(reached);
    });
  }

  it('and where both allow it, the rule does route (the checks above are not vacuous)', () => {
    expect(reachedModels).toEqual(['coder', 'coder']);
  });
});
