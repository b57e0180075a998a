/**
 * Ollama leaves `prompt_eval_count` out of its final line when the prompt came from its KV cache
 * (servers before the llama-server runner, and `omitempty` on a zero count). The model read the
 * prompt all the same. The gateway kept the prompt count unknown and billed it as zero: on a
 * priced Ollama deployment (input_cost_per_token set, e.g. a shared GPU server charged back), a
 * client resending the same long prompt paid only for the output. The prompt is now counted
 * locally, the row marked tokens_estimated, in JSON and streamed answers alike.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockOllama } from '../support/mock-ollama.js';

describe('an Ollama answer without prompt_eval_count still bills its prompt', () => {
  const ollama = new MockOllama({ promptEvalCount: 3000, evalCount: 7 });
  let gateway: TestGateway;
  const prompt = 'the same long context, again. '.repeat(400);

  beforeAll(async () => {
    await ollama.start();
    gateway = await startGateway(`
model_list:
  - model_name: priced-llama
    litellm_params:
      model: ollama_chat/llama3.1
      api_base: ${ollama.url}
      input_cost_per_token: 0.000001
      output_cost_per_token: 0.000002
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`);
  });

  afterAll(async () => {
    await gateway?.close();
    await ollama.close();
  });

  // The gateway's background reads of /api/tags and /api/ps take a fault too (and ignore it): enough
  // are queued for the call to get one, the rest are dropped after it.
  const noPromptCount = () => ollama.faults.push(...Array.from({ length: 4 }, () => ({ kind: 'no-prompt-count' as const })));
  afterEach(() => {
    ollama.faults.length = 0;
  });

  const check = async (callId: string | null) => {
    const row = await gateway.recordOf(callId!);
    expect(row).toMatchObject({ status: 'success', completion_tokens: 7, tokens_estimated: 1 });
    // The prompt is about 2,800 tokens (o200k); it is billed, not free.
    expect(row?.prompt_tokens).toBeGreaterThan(1000);
    expect(row?.cost_micros).toBe((row?.prompt_tokens ?? 0) * 1 + 7 * 2);
  };

  it('JSON answer', async () => {
    noPromptCount();
    const { response } = await gateway.openai().chat.completions.create({ model: 'priced-llama', messages: [{ role: 'user', content: prompt }] }).withResponse();
    await check(response.headers.get('x-switchboard-call-id'));
  });

  it('streamed answer', async () => {
    noPromptCount();
    const { data: stream, response } = await gateway.openai().chat.completions.create({ model: 'priced-llama', stream: true, messages: [{ role: 'user', content: prompt }] }).withResponse();
    for await (const _ of stream) void _;
    await check(response.headers.get('x-switchboard-call-id'));
  });
});
