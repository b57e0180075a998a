/**
 * Item 234: prompt tokens a provider adds to a call with tools, which the request body does not
 * carry. Anthropic puts a tool-use system prompt in front of every Claude call that has `tools`
 * (346 tokens on Claude Sonnet 4, Anthropic "Tool use with Claude" → pricing) and bills it as
 * input; Anthropic-defined tools bill their own definitions (bash 245 tokens, text editor 700) for
 * a few bytes of body. The reservation bounded the prompt by the body's bytes alone, so:
 * - a short chat call with one tool reserved its 233-token body bound at the dearest input rate
 *   (a 1-hour cache write, 2× input: 467 µ$ with its 1 output token) and was billed 533 tokens at
 *   the input rate (186 of body at one token a byte, 346 of tool prompt, 1 of output): of 40
 *   concurrent calls on a $0.01 key, 21 were admitted and spent $0.011193, 12% past the budget —
 *   the overshoot grows with the calls in flight (now each reserves 1,159 µ$: 8 admitted, $0.004264);
 * - a relayed `/anthropic/v1/messages` call with the bash and text editor tools, billed 1,306 input
 *   tokens, was charged 13 µ$ instead of 1,307 µ$: the usage bounds (max(4 × bound, bound + 1000))
 *   took the report for implausible and billed the gateway's own count of the body.
 * Now the documented overhead is part of the prompt bound of every Claude deployment (max-cost.ts,
 * providerAddedPromptTokens), held by the reservation and accepted by the usage bounds.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockServer } from '../support/mock-server.js';

type Json = Record<string, unknown>;

/** Anthropic's tool-use system prompt on Claude Sonnet 4 (tool_choice auto / none). */
const TOOL_SYSTEM_PROMPT = 346;
/** The definitions of the Anthropic-defined bash and text editor tools. */
const DEFINED_TOOLS: Record<string, number> = { bash_20250124: 245, text_editor_20250429: 700 };
const MICRO = 0.000001;

/**
 * Claude's Messages API billing every input token: what the request carries, at the bound's own
 * worst case (one token per byte of text, system and tool definition), plus the tool-use system
 * prompt when tools are given and each Anthropic-defined tool's definition. Answers are held back
 * a little so that concurrent calls are in flight together.
 */
class BillingClaude extends MockServer {
  readonly reported: number[] = [];

  start(): Promise<string> {
    return this.listen();
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of request) text += chunk;
    const body = JSON.parse(text) as Json;
    const inputTokens = BillingClaude.inputTokens(body);
    this.reported.push(inputTokens);
    await new Promise((resolve) => setTimeout(resolve, 300));
    response.writeHead(200, { 'content-type': 'application/json', 'request-id': `req_${this.reported.length}` });
    response.end(
      JSON.stringify({
        id: `msg_${this.reported.length}`,
        type: 'message',
        role: 'assistant',
        model: body.model,
        content: [{ type: 'text', text: 'k' }],
        stop_reason: 'max_tokens',
        stop_sequence: null,
        usage: { input_tokens: inputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 },
      }),
    );
  }

  static inputTokens(body: Json): number {
    const bytes = (value: unknown) => Buffer.byteLength(typeof value === 'string' ? value : JSON.stringify(value ?? ''));
    let tokens = body.system === undefined ? 0 : bytes(body.system);
    for (const message of body.messages as Array<{ content: unknown }>) {
      if (typeof message.content === 'string') tokens += bytes(message.content);
      else for (const block of message.content as Json[]) tokens += block.type === 'text' ? bytes(block.text) : bytes(block);
    }
    const tools = (body.tools as Json[] | undefined) ?? [];
    if (tools.length > 0) tokens += TOOL_SYSTEM_PROMPT;
    for (const tool of tools) tokens += typeof tool.type === 'string' && tool.type in DEFINED_TOOLS ? DEFINED_TOOLS[tool.type] : bytes(tool);
    return tokens;
  }
}

const upstream = new BillingClaude();
let gateway: TestGateway;
let api: Management;

beforeAll(async () => {
  await upstream.start();
  // 1 µ$ an input token and 1 µ$ an output token; cache writes 1.25 µ$ (5-minute) and 2 µ$ (1-hour), cache reads
  // 0.1 µ$ (Anthropic's ratios): the reservation prices the prompt at 2 µ$ a token, the dearest rate it may be billed at.
  gateway = await startGateway(`
model_list:
  - model_name: claude
    litellm_params: {model: anthropic/claude-sonnet-4-20250514, api_base: "${upstream.url}", api_key: upstream-key}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000001, cache_creation_input_token_cost: 0.00000125, cache_creation_input_token_cost_above_1hr: 0.000002, cache_read_input_token_cost: 0.0000001, max_output_tokens: 64000}
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`);
  api = new Management(gateway.url);
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

async function spendOf(key: string): Promise<number> {
  return (await api.keyInfo(key)).spend as number;
}

/** Spend is recorded when a call settles; wait for `calls` of them to land. */
async function settledSpend(key: string, expected: (spend: number) => boolean): Promise<number> {
  const deadline = Date.now() + 5_000;
  let spend = await spendOf(key);
  while (!expected(spend) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    spend = await spendOf(key);
  }
  return spend;
}

const WEATHER_TOOL = { type: 'function', function: { name: 'get_weather', description: 'Current weather of a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } };

function chat(key: string): Promise<Response> {
  return fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: 'claude', max_tokens: 1, tools: [WEATHER_TOOL], messages: [{ role: 'user', content: 'What is the weather in Paris?' }] }),
  });
}

describe("Claude's tool-use system prompt is reserved and billed", () => {
  it('concurrent calls with tools never spend past the budget', async () => {
    const budget = 0.01;
    const key = (await api.generateKey({ models: ['claude'], max_budget: budget })).key;
    const before = upstream.reported.length;
    const responses = await Promise.all(Array.from({ length: 40 }, () => chat(key)));
    const admitted = responses.filter((response) => response.status === 200).length;
    for (const response of responses) await response.arrayBuffer();
    expect(admitted).toBeGreaterThan(0);
    const billed = upstream.reported.slice(before).reduce((sum, tokens) => sum + (tokens + 1) * MICRO, 0);
    const spend = await settledSpend(key, (spend) => spend >= billed - 1e-9);
    // Every token Anthropic billed is charged…
    expect(spend).toBeCloseTo(billed, 9);
    // …and the reservations held it: the key never spent past its budget.
    expect(spend).toBeLessThanOrEqual(budget + 1e-9);
  });

  it('a relayed Messages call with Anthropic-defined tools is charged every input token Anthropic billed', async () => {
    const key = (await api.generateKey({ models: ['claude'] })).key;
    const response = await fetch(`${gateway.url}/anthropic/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key, 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({
        model: 'claude',
        max_tokens: 1,
        tools: [
          { type: 'bash_20250124', name: 'bash' },
          { type: 'text_editor_20250429', name: 'str_replace_based_edit_tool' },
        ],
        messages: [{ role: 'user', content: 'List the files.' }],
      }),
    });
    expect(response.status).toBe(200);
    await response.arrayBuffer();
    const reported = upstream.reported.at(-1)!;
    expect(reported).toBe('List the files.'.length + TOOL_SYSTEM_PROMPT + 245 + 700);
    const spend = await settledSpend(key, (spend) => spend >= (reported + 1) * MICRO - 1e-9);
    expect(spend).toBeCloseTo((reported + 1) * MICRO, 9);
  });
});
