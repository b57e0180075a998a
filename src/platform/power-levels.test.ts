import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { buildDeployments } from '../config/deployments.js';
import type { Deployment } from '../providers/types.js';
import { capMaxTokens, choose, parsePowerLevel, traitsOf } from './power-levels.js';

/** Free (a local Ollama model), cheap and premium models, with their model_info metadata. */
const CONFIG = `
model_list:
  - model_name: local-llama
    litellm_params: {model: ollama_chat/llama3.1, api_base: "http://127.0.0.1:11434"}
    model_info: {quality_score: 45, latency_class: slow}
  - model_name: free-cloud
    litellm_params: {model: openai/free-upstream, api_base: "http://127.0.0.1:9", api_key: sk-x}
    model_info: {quality_score: 40, input_cost_per_token: 0, output_cost_per_token: 0, latency_class: fast}
  - model_name: cheap
    litellm_params: {model: openai/cheap-upstream, api_base: "http://127.0.0.1:9", api_key: sk-x}
    model_info: {quality_score: 70, latency_class: fast, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: mid
    litellm_params: {model: openai/mid-upstream, api_base: "http://127.0.0.1:9", api_key: sk-x}
    model_info: {quality_score: 80, latency_class: medium, input_cost_per_token: 0.000005, output_cost_per_token: 0.00001}
  - model_name: premium
    litellm_params: {model: openai/premium-upstream, api_base: "http://127.0.0.1:9", api_key: sk-x}
    model_info: {quality_score: 95, latency_class: slow, input_cost_per_token: 0.00001, output_cost_per_token: 0.00002}
`;

function deployments(yaml = CONFIG): Deployment[] {
  const loaded = parseConfig(yaml, {}, 'test.yaml');
  expect(loaded.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
  return buildDeployments(loaded);
}

const named = (list: Deployment[], ...names: string[]) => list.filter((deployment) => names.includes(deployment.modelName));

describe('power-level model choice', () => {
  const all = deployments();
  const floor = { balancedQualityFloor: 50 };

  it('reads the metadata: Ollama is local and free by default, cloud models cost their prices', () => {
    const local = traitsOf(named(all, 'local-llama')[0]);
    expect(local).toMatchObject({ local: true, cost: 0, quality: 45, latency: 2 });
    expect(traitsOf(named(all, 'cheap')[0])).toMatchObject({ local: false, cost: 3_000_000, quality: 70, latency: 0 });
  });

  it('a vLLM or LM Studio server is local and free like Ollama: the provider spec decides, not a list of its own', () => {
    const servers = deployments(`
model_list:
  - model_name: vllm-model
    litellm_params: {model: hosted_vllm/meta-llama, api_base: "http://127.0.0.1:8000/v1"}
  - model_name: studio-model
    litellm_params: {model: lm_studio/qwen, api_base: "http://127.0.0.1:1234/v1"}
`);
    for (const deployment of servers) expect(traitsOf(deployment), deployment.modelName).toMatchObject({ local: true, cost: 0 });
  });

  it('eco picks the cheapest: free and local first', () => {
    expect(choose('eco', all, floor)!.modelName).toBe('local-llama');
    // Without the local one, the free cloud model; without free ones, the cheapest paid one.
    expect(choose('eco', named(all, 'free-cloud', 'cheap', 'premium'), floor)!.modelName).toBe('free-cloud');
    expect(choose('eco', named(all, 'premium', 'mid', 'cheap'), floor)!.modelName).toBe('cheap');
  });

  it('balanced picks the best quality per cost above the quality floor', () => {
    // The free models are under the floor (45, 40); cheap: 70 per 3 µ$/token beats mid (80/15) and premium (95/30).
    expect(choose('balanced', all, floor)!.modelName).toBe('cheap');
    expect(choose('balanced', named(all, 'mid', 'premium'), floor)!.modelName).toBe('mid');
    // A higher floor leaves only premium.
    expect(choose('balanced', all, { balancedQualityFloor: 90 })!.modelName).toBe('premium');
    // Nothing above the floor: the best there is.
    expect(choose('balanced', named(all, 'local-llama', 'free-cloud'), floor)!.modelName).toBe('local-llama');
  });

  it('precision picks the highest quality score', () => {
    expect(choose('precision', all, floor)!.modelName).toBe('premium');
    expect(choose('precision', named(all, 'cheap', 'mid'), floor)!.modelName).toBe('mid');
  });

  it('no candidates, no choice', () => {
    expect(choose('eco', [], floor)).toBeUndefined();
  });

  it('parses levels and refuses unknown ones with the allowed list', () => {
    expect(parsePowerLevel('Eco', 'h')).toBe('eco');
    expect(parsePowerLevel(undefined, 'h')).toBeUndefined();
    expect(() => parsePowerLevel('turbo', 'the X-Power-Level header')).toThrow('the X-Power-Level header must be one of eco, balanced, precision, custom, got "turbo"');
  });

  it('caps max_tokens (and sets it when absent)', () => {
    const absent: Record<string, unknown> = {};
    capMaxTokens(absent, 2000);
    expect(absent.max_tokens).toBe(2000);
    const above: Record<string, unknown> = { max_tokens: 5000 };
    capMaxTokens(above, 4000);
    expect(above.max_tokens).toBe(4000);
    const below: Record<string, unknown> = { max_tokens: 100 };
    capMaxTokens(below, 4000);
    expect(below.max_tokens).toBe(100);
    const completion: Record<string, unknown> = { max_completion_tokens: 20000 };
    capMaxTokens(completion, 16000);
    expect(completion).toEqual({ max_completion_tokens: 16000 });
  });
});
