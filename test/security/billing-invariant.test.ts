/**
 * The billing invariant, over 500 random requests through the real server with the official openai
 * SDK (a fifth with the Anthropic SDK on /v1/messages): plain and streamed calls, streams the client
 * abandons at a random chunk, JSON calls abandoned while the upstream answers, upstreams that fail before answering or reset mid-stream, streams
 * without a usage chunk, requests carrying tool and function definitions of random size — from
 * several users (credits, a tier markup) and keys (budgets), many at once. Afterwards, for every call:
 * - its row's cost is its tokens × the deployment's price, and its credits that cost × (1 + markup)
 *   × credits_per_usd (computed here in integers, not with the gateway's own function);
 * - every answer the upstream produced text for is charged (a disconnect or a reset is not free),
 *   and its row counts at least the tokens the upstream reported, or the words it wrote;
 * - a refused or failed call reached no upstream or is charged nothing;
 * and for every user and key: the credits ledger's usage equals the sum of the rows' credits, no
 * balance is below zero, no key's spend is over its budget.
 * Runs on SQLite with in-memory limits, and on PostgreSQL + Redis (skipped with the reason printed
 * when they are absent outside CI).
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialectsUnderTest, type TestDatabase } from '../support/databases.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { seededRandom } from '../support/random.js';
import { redisAvailableForTests, REDIS_URL, deleteKeys, uniquePrefix } from '../support/redis.js';
import { scriptText, ScriptedOpenAI, type ScriptMode } from '../support/scripted-openai.js';

const REQUESTS = 500;
const CONCURRENCY = 12;
const USERS = 5;
/** cheap: 1 µ$ per input token, 2 per output token; tier markup 0.5; 1000 credits per USD. */
const PRICE_IN = 1;
const PRICE_OUT = 2;

function config(apiBase: string, masterKey: string): string {
  return `
model_list:
  - model_name: cheap
    litellm_params: {model: openai/cheap-upstream, api_base: "${apiBase}", api_key: sk-upstream-test}
    model_info: {id: dep-cheap, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002, max_output_tokens: 64}
  # A second deployment at the same price: upstream failures are part of the run, and a deployment
  # the health monitor marks down after a run of them leaves the other to serve until its probe.
  - model_name: cheap
    litellm_params: {model: openai/cheap-upstream, api_base: "${apiBase}", api_key: sk-upstream-test-2}
    model_info: {id: dep-cheap-2, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002, max_output_tokens: 64}
router_settings:
  num_retries: 0
  disable_cooldowns: true
general_settings:
  # Upstream failures are part of the run: a deployment marked down comes back at the next probe.
  health_check_interval: 1
  health_check_down_retry_interval: 1
  master_key: ${masterKey}
  store_prompts_in_spend_logs: true
platform:
  credits_per_usd: 1000
  default_tier: pro
  tiers:
    pro: {markup: 0.5, initial_credits: 0}
`;
}

/** Millicredits of a cost in µ$ at markup 0.5 and 1000 credits/USD: µ$ × 1.5 × 1000 / 1000, rounded up. */
function expectedCredits(costMicros: number): number {
  return Math.ceil((costMicros * 3) / 2);
}

type Plan = {
  nonce: string;
  /** the client: the openai SDK on /v1/chat/completions, or the Anthropic SDK on /v1/messages */
  sdk: 'openai' | 'anthropic';
  user: number;
  key: number;
  stream: boolean;
  mode: ScriptMode;
  words: number;
  failAfter?: number;
  /** a stream the client abandons after this many content chunks */
  abortAfter?: number;
  /** a JSON call the client abandons after this many ms, while the upstream is still answering */
  hangUpAfterMs?: number;
  maxTokens?: number;
  tools?: number;
  functions?: number;
};

function planRequests(random: () => number): Plan[] {
  const pick = <T,>(items: T[]): T => items[Math.floor(random() * items.length)];
  const plans: Plan[] = [];
  for (let index = 0; index < REQUESTS; index++) {
    const stream = random() < 0.6;
    const mode: ScriptMode = pick(stream ? ['complete', 'complete', 'complete', 'complete', 'no-usage', 'error', 'rate-limited', 'reset-mid-stream'] : ['complete', 'complete', 'complete', 'complete', 'error', 'rate-limited']);
    const words = 1 + Math.floor(random() * 40);
    const sdk = random() < 0.2 ? 'anthropic' : 'openai';
    plans.push({
      nonce: `n${index}`,
      sdk,
      user: Math.floor(random() * USERS),
      key: Math.floor(random() * 2),
      stream,
      mode,
      words,
      failAfter: mode === 'reset-mid-stream' ? 1 + Math.floor(random() * Math.max(1, words - 1)) : undefined,
      abortAfter: stream && mode === 'complete' && random() < 0.35 ? Math.floor(random() * words) : undefined,
      hangUpAfterMs: !stream && mode === 'complete' && random() < 0.2 ? 60 : undefined,
      // Anthropic's API requires max_tokens.
      maxTokens: sdk === 'anthropic' || random() < 0.5 ? 1 + Math.floor(random() * 48) : undefined,
      tools: random() < 0.25 ? 1 + Math.floor(random() * 6) : undefined,
      // Legacy `functions` exist only in OpenAI's API.
      functions: sdk === 'openai' && random() < 0.15 ? 1 + Math.floor(random() * 40) : undefined,
    });
  }
  return plans;
}

function toolDefinitions(count: number, seed: string) {
  return Array.from({ length: count }, (_, index) => ({
    type: 'function' as const,
    function: { name: `tool_${seed}_${index}`, description: `Looks up item ${index} `.repeat(8), parameters: { type: 'object', properties: { city: { type: 'string', description: 'the city '.repeat(5) } }, required: ['city'] } },
  }));
}

function functionDefinitions(count: number, seed: string) {
  return Array.from({ length: count }, (_, index) => ({ name: `fn_${seed}_${index}`, description: 'A legacy function definition that the provider bills as prompt. '.repeat(10), parameters: { type: 'object', properties: {} } }));
}

interface Outcome {
  plan: Plan;
  callId: string | undefined;
  status: number;
  chunksRead: number;
  code?: string;
}

function promptOf(plan: Plan): string {
  const delayMs = plan.stream ? 2 : plan.hangUpAfterMs !== undefined ? 400 : undefined;
  return `question ${plan.nonce}\n${scriptText({ nonce: plan.nonce, words: plan.words, mode: plan.mode, failAfter: plan.failAfter, delayMs })}`;
}

async function runAnthropic(client: Anthropic, plan: Plan): Promise<Outcome> {
  const body: Anthropic.MessageCreateParams = {
    model: 'cheap',
    max_tokens: plan.maxTokens!,
    system: 'You answer briefly.',
    messages: [{ role: 'user', content: promptOf(plan) }],
  };
  if (plan.tools) body.tools = toolDefinitions(plan.tools, plan.nonce).map((tool) => ({ name: tool.function.name, description: tool.function.description, input_schema: tool.function.parameters as Anthropic.Tool.InputSchema }));
  try {
    if (!plan.stream) {
      const { response } = await client.messages.create({ ...body, stream: false }).withResponse();
      return { plan, callId: response.headers.get('x-switchboard-call-id') ?? undefined, status: response.status, chunksRead: 0 };
    }
    const { data: stream, response } = await client.messages.create({ ...body, stream: true }).withResponse();
    let chunksRead = 0;
    try {
      for await (const event of stream) {
        if (event.type === 'content_block_delta' && event.delta.type === 'text_delta' && event.delta.text) chunksRead++;
        if (plan.abortAfter !== undefined && chunksRead > plan.abortAfter) {
          stream.controller.abort();
          break;
        }
      }
    } catch {
      // a stream ended by an error event or by our own abort
    }
    return { plan, callId: response.headers.get('x-switchboard-call-id') ?? undefined, status: response.status, chunksRead };
  } catch (error) {
    if (error instanceof Anthropic.APIError) return { plan, callId: error.headers?.get('x-switchboard-call-id') ?? undefined, status: error.status ?? 0, chunksRead: 0, code: (error.error as { error?: { type?: string } } | undefined)?.error?.type };
    throw error;
  }
}

async function runOne(client: OpenAI, plan: Plan): Promise<Outcome> {
  const body: Record<string, unknown> = {
    model: 'cheap',
    messages: [{ role: 'user', content: promptOf(plan) }],
  };
  if (plan.maxTokens !== undefined) body.max_tokens = plan.maxTokens;
  if (plan.tools) body.tools = toolDefinitions(plan.tools, plan.nonce);
  if (plan.functions) body.functions = functionDefinitions(plan.functions, plan.nonce);
  try {
    if (!plan.stream) {
      const signal = plan.hangUpAfterMs === undefined ? undefined : AbortSignal.timeout(plan.hangUpAfterMs);
      const { response } = await client.chat.completions.create(body as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming, { signal }).withResponse();
      return { plan, callId: response.headers.get('x-switchboard-call-id') ?? undefined, status: response.status, chunksRead: 0 };
    }
    const { data: stream, response } = await client.chat.completions.create({ ...(body as unknown as OpenAI.ChatCompletionCreateParamsStreaming), stream: true }).withResponse();
    const callId = response.headers.get('x-switchboard-call-id') ?? undefined;
    let chunksRead = 0;
    try {
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta?.content) chunksRead++;
        if (plan.abortAfter !== undefined && chunksRead > plan.abortAfter) {
          stream.controller.abort();
          break;
        }
      }
    } catch {
      // a stream ended by an error event (the upstream reset) or by our own abort
    }
    return { plan, callId, status: response.status, chunksRead };
  } catch (error) {
    if (error instanceof OpenAI.APIUserAbortError && plan.hangUpAfterMs !== undefined) return { plan, callId: undefined, status: 0, chunksRead: 0, code: 'hung up' };
    if (error instanceof OpenAI.APIError) return { plan, callId: error.headers?.get('x-switchboard-call-id') ?? undefined, status: error.status ?? 0, chunksRead: 0, code: String(error.code) };
    throw error;
  }
}

const dialects = await dialectsUnderTest();
const withRedis = await redisAvailableForTests();

const setups: Array<{ name: string; database: (typeof dialects)[number]; redis: boolean }> = [{ name: 'SQLite, limits in memory', database: dialects[0], redis: false }];
const postgres = dialects.find((dialect) => dialect.dialect === 'postgres');
if (postgres && withRedis) setups.push({ name: 'PostgreSQL + Redis', database: postgres, redis: true });

describe.each(setups)('billing invariant over 500 random requests ($name)', ({ database, redis }) => {
  const upstream = new ScriptedOpenAI();
  const masterKey = 'sk-invariant-master';
  const prefix = uniquePrefix('billing-invariant');
  let gateway: TestGateway;
  let testDatabase: TestDatabase;
  let api: Management;
  const users: Array<{ id: string; keys: Array<{ key: string; budgetMicros: number }>; credits: number }> = [];
  let outcomes: Outcome[] = [];

  beforeAll(async () => {
    await upstream.start();
    testDatabase = await database.create();
    gateway = await startGateway(config(upstream.url, masterKey), { databaseUrl: testDatabase.url, redisUrl: redis ? REDIS_URL : undefined, redisPrefix: redis ? prefix : undefined });
    api = new Management(gateway.url, masterKey);
    const random = seededRandom(7);
    for (let index = 0; index < USERS; index++) {
      const id = `invariant-user-${index}`;
      await api.newUser({ user_id: id });
      // 10–40 credits: some users run out during the run, so refusals are part of it.
      const credits = 10 + Math.floor(random() * 30);
      await api.ok('POST', '/api/v1/llm/credits/add', { user_id: id, amount: credits, kind: 'purchase' });
      const keys = [];
      for (let slot = 0; slot < 2; slot++) {
        // $0.02–$0.10 per key: some keys reach their budget too.
        const budgetMicros = 20_000 + Math.floor(random() * 80_000);
        const generated = await api.generateKey({ user_id: id, max_budget: budgetMicros / 1_000_000 });
        keys.push({ key: generated.key, budgetMicros });
      }
      users.push({ id, keys, credits });
    }
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
    await testDatabase?.drop();
    if (redis) await deleteKeys(prefix);
  });

  it('runs the random requests (several at once)', async () => {
    const plans = planRequests(seededRandom(redis ? 1234 : 4321));
    const clients = users.map((user) => user.keys.map((key) => ({ openai: new OpenAI({ apiKey: key.key, baseURL: `${gateway.url}/v1`, maxRetries: 0 }), anthropic: new Anthropic({ apiKey: key.key, baseURL: gateway.url, maxRetries: 0 }) })));
    const queue = [...plans];
    const done: Outcome[] = [];
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let plan = queue.shift(); plan; plan = queue.shift()) {
          const client = clients[plan.user][plan.key];
          done.push(plan.sdk === 'anthropic' ? await runAnthropic(client.anthropic, plan) : await runOne(client.openai, plan));
        }
      }),
    );
    outcomes = done;
    if (process.env.INVARIANT_DEBUG) {
      const counts: Record<string, number> = {};
      for (const outcome of outcomes) counts[`${outcome.status} ${outcome.code ?? ''}`] = (counts[`${outcome.status} ${outcome.code ?? ''}`] ?? 0) + 1;
      console.log('statuses', JSON.stringify(counts));
    }
    expect(outcomes).toHaveLength(REQUESTS);
    // The run exercised what it claims to: successes, refusals for money, upstream failures, aborts.
    expect(outcomes.filter((outcome) => outcome.status === 200).length).toBeGreaterThan(100);
    expect(outcomes.filter((outcome) => outcome.status === 402 || outcome.status === 400).length).toBeGreaterThan(0);
    expect(outcomes.filter((outcome) => outcome.status >= 500).length).toBeGreaterThan(0);
    expect(outcomes.filter((outcome) => outcome.plan.abortAfter !== undefined && outcome.status === 200).length).toBeGreaterThan(10);
    expect(outcomes.filter((outcome) => outcome.code === 'hung up').length).toBeGreaterThan(5);
  }, 240_000);

  it('every row is charged its tokens × price × markup, and every answer the upstream produced is charged', async () => {
    // Rows of aborted streams are written when the gateway notices the disconnect.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await gateway.flushUsage();
    const rows = await gateway.runtime.usageLogs()!.listRecent(10 * REQUESTS);
    const byCallId = new Map(rows.map((row) => [row.call_id, row]));
    expect(new Set(rows.map((row) => row.call_id)).size).toBe(rows.length);

    // Every violation is collected, so that a failure shows how many calls break which rule.
    const problems: string[] = [];
    const check = (holds: boolean, rule: string, context: string) => {
      if (!holds) problems.push(`${rule}: ${context}`);
    };
    for (const outcome of outcomes) {
      const { plan } = outcome;
      // A client that hung up before the answer never saw the call id: its row is found by its prompt.
      const row = outcome.callId === undefined ? rows.find((candidate) => candidate.messages?.includes(`question ${plan.nonce}\\n`)) : byCallId.get(outcome.callId);
      const served = upstream.served.get(plan.nonce);
      if (!row) {
        // A client that hangs up while a loaded gateway is still reading its request leaves no call:
        // nothing reached the upstream, so there is nothing to record or charge. Any other call has a row.
        if (!(plan.hangUpAfterMs !== undefined && outcome.status === 0 && served === undefined)) problems.push(`no usage row: call ${plan.nonce} (${JSON.stringify(outcome)})`);
        continue;
      }
      const cost = row.cost_micros ?? 0;
      const credits = row.credits_millicredits ?? 0;
      const context = `call ${plan.nonce} ${JSON.stringify(plan)} read ${outcome.chunksRead}; row ${JSON.stringify({ status: row.status, http: row.http_status, code: row.error_code, prompt: row.prompt_tokens, completion: row.completion_tokens, cost, credits })}; served ${JSON.stringify(served)}`;

      // The price is exact for every row that has tokens, and the credits follow from it.
      if (row.prompt_tokens !== null || row.completion_tokens !== null) check(cost === (row.prompt_tokens ?? 0) * PRICE_IN + (row.completion_tokens ?? 0) * PRICE_OUT, 'cost is not tokens × price', context);
      check(credits === expectedCredits(cost), 'credits are not cost × (1 + markup) × credits_per_usd', context);

      if (!served || served.status !== 200) {
        // Refused before any upstream call, or the upstream failed before answering: nothing to charge.
        check(cost === 0, 'charged for a call the upstream did not answer', context);
        continue;
      }
      if (plan.hangUpAfterMs !== undefined && outcome.status === 0) {
        // Hung up while the upstream was answering: the prompt it read is charged, and the row says the
        // call was abandoned — unless, on a slow machine, the answer was complete before the gateway
        // noticed the hang-up: then it is an ordinary answered call, charged in full.
        check(credits > 0 && (row.prompt_tokens ?? 0) > 0 && (row.aborted === 1 || row.status === 'success'), 'an abandoned call was not charged for its prompt', context);
      }
      if (served.wordsWritten > 0) {
        // The upstream produced text: the call is charged, at least for the prompt it read.
        check(credits > 0 && (row.prompt_tokens ?? 0) > 0, 'produced text was not charged', context);
      }
      if (plan.mode === 'complete' && plan.abortAfter === undefined && outcome.status === 200) {
        // A full answer: the upstream's own usage, exactly.
        check(row.prompt_tokens === served.promptTokens && row.completion_tokens === served.wordsWritten, 'full answer not charged the upstream usage', context);
      }
      // What the client received is never billed below what it received.
      check((row.completion_tokens ?? 0) >= outcome.chunksRead, 'billed fewer completion tokens than the client received', context);
    }
    expect(problems.length === 0 ? [] : [`${problems.length} violations`, ...problems.slice(0, 8)]).toEqual([]);
  });

  it('the credits ledger equals the rows; no balance below zero; no key over its budget', async () => {
    await gateway.flushUsage();
    const rows = await gateway.runtime.usageLogs()!.listRecent(10 * REQUESTS);
    const creditsStore = gateway.runtime.credits()!;
    for (const user of users) {
      const charged = rows.filter((row) => row.user_id === user.id).reduce((sum, row) => sum + (row.credits_millicredits ?? 0), 0);
      const balance = (await creditsStore.balance(user.id))!;
      expect(balance.used, user.id).toBe(charged);
      expect(balance.balance, user.id).toBe(user.credits * 1000 - charged);
      expect(await creditsStore.ledgerSum(user.id), user.id).toBe(balance.balance);
      expect(balance.balance, `${user.id} never goes below zero`).toBeGreaterThanOrEqual(0);
      for (const key of user.keys) {
        const info = await api.keyInfo(key.key);
        const spentMicros = rows.filter((row) => row.key_hash === info.token_id).reduce((sum, row) => sum + (row.cost_micros ?? 0), 0);
        expect(Math.round(info.spend * 1_000_000), `${user.id} key spend equals its rows`).toBe(spentMicros);
        expect(spentMicros, `${user.id} key stays within its budget`).toBeLessThanOrEqual(key.budgetMicros);
      }
    }
    // The limits did bite during the run.
    expect(rows.some((row) => row.error_code === 'insufficient_credits' || row.error_code === 'budget_exceeded')).toBe(true);
  });
});
