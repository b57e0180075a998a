import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import type { Deployment } from '../providers/types.js';
import { keepAliveOf } from './warm-up.js';

const deployment = (keep_warm: unknown): Deployment => ({ id: 'd', modelName: 'm', provider: 'ollama_chat', upstreamModel: 'qwen3', apiBase: 'http://llm01:11434', headers: {}, defaultParams: {}, modelInfo: { keep_warm }, available: true });

describe('model_info.keep_warm', () => {
  it('becomes Ollama keep_alive: true stays loaded (-1), a duration or seconds as given', () => {
    expect(keepAliveOf(deployment(true))).toBe(-1);
    expect(keepAliveOf(deployment('30m'))).toBe('30m');
    expect(keepAliveOf(deployment(600))).toBe(600);
    expect(keepAliveOf(deployment(false))).toBeUndefined();
    expect(keepAliveOf(deployment(undefined))).toBeUndefined();
  });

  it('is validated in the config, like model_info.local: a bad value makes that model unavailable', () => {
    const yaml = (info: string) => `model_list:\n  - model_name: m\n    litellm_params: { model: ollama_chat/qwen3 }\n    model_info: ${info}\n`;
    // A bad value in a model entry is that model's problem (a warning; an error with check-config --strict), never a silent pass.
    const errors = (info: string) =>
      parseConfig(yaml(info), {})
        .issues.filter((issue) => issue.severity === 'error' || issue.message.includes('with this model unavailable'))
        .map((issue) => issue.message);
    expect(errors('{ keep_warm: true, local: true }')).toEqual([]);
    expect(errors('{ keep_warm: "24h" }')).toEqual([]);
    expect(errors('{ keep_warm: "soon" }').join(' ')).toContain('expected a duration such as "30m" or "24h"');
    expect(errors('{ local: "yes" }').join(' ')).toContain('expected true or false');
  });
});

describe('start-up warnings', () => {
  it('says when keep_warm or local cannot apply, never ignoring them silently', async () => {
    const { Writable } = await import('node:stream');
    const pino = (await import('pino')).default;
    const { LocalBackends } = await import('./local-backends.js');
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const hosted = (id: string, provider: string, modelInfo: Record<string, unknown>): Deployment => ({ id, modelName: id, provider, upstreamModel: 'x', apiBase: 'https://api.example.com', headers: {}, defaultParams: {}, modelInfo, available: true });
    const backends = new LocalBackends({
      deployments: () => [
        { deployment: hosted('claude', 'anthropic', { local: true }), active: true },
        { deployment: hosted('nova', 'bedrock', { local: true }), active: true },
        { deployment: hosted('vllm', 'hosted_vllm', { keep_warm: true }), active: true },
        { deployment: deployment(-5), active: true },
      ],
      upstream: { send: async () => Promise.reject(new Error('offline')) } as never,
      timeoutMs: 100,
      logger: pino({ level: 'warn' }, sink),
      repository: () => undefined,
    });
    await backends.start({ checkNow: async () => [] });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await backends.close();
    const messages = lines.map((line) => `${String(line.deployment)}: ${String(line.msg)}`);
    expect(messages).toContain('claude: model_info.local is ignored: it marks OpenAI-compatible deployments with an api_base (not anthropic, gemini, vertex_ai, azure, azure_ai, text-completion-openai, bedrock or cohere)');
    expect(messages).toContain('nova: model_info.local is ignored: it marks OpenAI-compatible deployments with an api_base (not anthropic, gemini, vertex_ai, azure, azure_ai, text-completion-openai, bedrock or cohere)');
    expect(messages).toContain('vllm: model_info.keep_warm is ignored: it loads models on Ollama backends only');
    expect(messages).toContain('d: model_info.keep_warm is ignored: expected true, a duration such as "30m", or seconds');
  });
});
