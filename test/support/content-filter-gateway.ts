/**
 * A gateway whose default-on guardrails are a content filter (blocked word `password`, a blocked
 * `sk-…` pattern, the denied topic `bomb`, pre and post call) and the prompt-injection check, plus
 * any `extraGuardrails` (YAML list entries), in front of a mock OpenAI; `chat` sends one user
 * message with the master key and says how many upstream calls it made. Serves the tests of
 * text written to slip past the filters (items 181 and 207).
 */
import { MockOpenAI } from './mock-openai.js';
import { MASTER_KEY, startGateway, type TestGateway } from './gateway.js';

export interface FilterGateway {
  upstream: MockOpenAI;
  gateway: TestGateway;
  chat(content: string): Promise<{ status: number; text: string; calls: number }>;
  close(): Promise<void>;
}

export async function startFilterGateway(extraGuardrails = ''): Promise<FilterGateway> {
  const upstream = new MockOpenAI();
  await upstream.start();
  const gateway = await startGateway(`
model_list:
  - model_name: gpt-4o-mini
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream-test}
general_settings:
  master_key: ${MASTER_KEY}
guardrails:
  - guardrail_name: no-secrets
    litellm_params:
      guardrail: content_filter
      mode: [pre_call, post_call]
      default_on: true
      blocked_words: [password]
      blocked_regex: ['sk-[A-Za-z0-9]{20,}']
      denied_topics: [{name: weapons, keywords: [bomb]}]
  - guardrail_name: injection
    litellm_params: {guardrail: prompt_injection, default_on: true, threshold: 0.5}
${extraGuardrails}`);
  return {
    upstream,
    gateway,
    async chat(content) {
      const before = upstream.requests.length;
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }),
      });
      return { status: response.status, text: await response.text(), calls: upstream.requests.length - before };
    },
    async close() {
      await gateway.close();
      await upstream.close();
    },
  };
}
