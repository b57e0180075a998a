/**
 * The API module against a fake fetch (a local function answering canned bodies): it sends the session's key only as a Bearer header, ends
 * the session on 401, reads LiteLLM's response shapes, and parses SSE split anywhere.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { session } from '../session';
import type { DailyActivityAnswer, ModelInfoAnswer, RouterSettingsAnswer, SpendLogView, SpendMetricsView } from '../../../src/http/views';
import { dailyActivity, listKeys, modelInfo, routerSettings, spendLogs, streamChat } from './gateway';
import { ApiError } from './http';

type Call = { url: string; init: RequestInit };
let calls: Call[] = [];

const realFetch = globalThis.fetch;

function answer(body: unknown, init: ResponseInit = {}): void {
  globalThis.fetch = (async (url: string, requestInit: RequestInit) => {
    calls.push({ url, init: requestInit });
    return body instanceof ReadableStream ? new Response(body, init) : new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' }, ...init });
  }) as typeof fetch;
}

beforeEach(() => {
  calls = [];
  session.start({ key: 'sk-session-key', role: 'admin', label: 'test', userId: null });
});
afterEach(() => {
  globalThis.fetch = realFetch;
  session.signOut();
});

describe('requests', () => {
  it('send the key as a Bearer header, never in the URL', async () => {
    answer({ keys: [], total_count: 0, current_page: 1, total_pages: 1 });
    await listKeys({ key_alias: 'a b' });
    expect(calls[0].url).toBe('/key/list?page=1&size=50&key_alias=a+b&return_full_object=true');
    expect(calls[0].init.headers).toMatchObject({ authorization: 'Bearer sk-session-key' });
    expect(calls[0].url).not.toContain('sk-session-key');
  });

  it('turn the error envelope into an ApiError, and a 401 ends the session', async () => {
    answer({ error: { message: 'no route GET /model/info', code: 'route_not_found' } }, { status: 404 });
    const missing = await modelInfo().catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(ApiError);
    expect((missing as ApiError).unavailable).toBe(true);
    expect(session.current()).not.toBeNull();

    answer({ error: { message: 'key expired', code: 'key_expired' } }, { status: 401 });
    const refused = await modelInfo().catch((error: unknown) => error);
    expect((refused as ApiError).message).toBe('key expired');
    expect(session.current()).toBeNull();
    expect(session.endedReason()).toContain('sign in again');
  });
});

describe('LiteLLM shapes', () => {
  it('/model/info: provider, prices, status and origin of each deployment', async () => {
    const body: ModelInfoAnswer = {
      data: [
        {
          model_name: 'gpt-4o',
          litellm_params: { model: 'openai/gpt-4o', api_key: '***abcd' },
          model_info: { id: 'dep-1', litellm_provider: 'openai', upstream_model: 'gpt-4o', db_model: true, enabled: true, available: true, unavailable_reason: null, input_cost_per_token: 2.5e-6, output_cost_per_token: 1e-5, price_source: 'configured' },
        },
        {
          model_name: 'local',
          litellm_params: { model: 'ollama_chat/llama3', api_base: 'http://localhost:11434' },
          model_info: { id: 'dep-2', litellm_provider: 'ollama_chat', upstream_model: 'llama3', db_model: false, enabled: false, available: true, unavailable_reason: null, input_cost_per_token: null, output_cost_per_token: null, price_source: null, mode: 'chat' },
        },
      ],
    };
    answer(body);
    const [first, second] = await modelInfo();
    expect(first).toMatchObject({ id: 'dep-1', model_name: 'gpt-4o', provider: 'openai', upstream_model: 'gpt-4o', api_key: '***abcd', input_cost_per_token: 2.5e-6, output_cost_per_token: 1e-5, disabled: false, db_model: true, mode: null });
    expect(second).toMatchObject({ id: 'dep-2', provider: 'ollama_chat', upstream_model: 'llama3', api_base: 'http://localhost:11434', disabled: true, db_model: false, input_cost_per_token: null, mode: 'chat' });
  });

  it('/user/daily/activity: days in order with breakdowns, totals from metadata', async () => {
    const metrics = (spend: number, requests: number, failed: number): SpendMetricsView => ({
      spend, api_requests: requests, successful_requests: requests - failed, failed_requests: failed, prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, cache_read_input_tokens: 0, credits: 0, cache_hits: 1, saved_cost: 0.01,
    });
    const body: DailyActivityAnswer = {
      results: [
        { date: '2026-11-23', metrics: metrics(0.5, 4, 1), breakdown: { models: { 'gpt-4o': { metrics: metrics(0.5, 4, 1), metadata: {} } }, providers: { openai: { metrics: metrics(0.5, 4, 1), metadata: {} } }, api_keys: { 'hash-1': { metrics: metrics(0.5, 4, 1), metadata: { key_alias: 'billing' } } } } },
        { date: '2026-11-22', metrics: metrics(0.25, 2, 0), breakdown: { models: {}, providers: {}, api_keys: {} } },
      ],
      metadata: {
        total_spend: 0.75, total_api_requests: 6, total_successful_requests: 5, total_failed_requests: 1, total_prompt_tokens: 20, total_completion_tokens: 10, total_tokens: 30,
        total_cache_read_input_tokens: 0, total_credits: 0, total_cache_hits: 3, total_saved_cost: 0.02, page: 1, total_pages: 1, has_more: false,
      },
    };
    answer(body);
    const activity = await dailyActivity({ start_date: '2026-11-22', end_date: '2026-11-23' });
    expect(calls[0].url).toContain('start_date=2026-11-22');
    expect(activity.days.map((day) => day.date)).toEqual(['2026-11-22', '2026-11-23']);
    expect(activity.days[1].breakdown.models['gpt-4o']).toMatchObject({ spend: 0.5, requests: 4, failed: 1 });
    expect(Object.keys(activity.days[1].breakdown.api_keys)).toEqual(['billing']);
    expect(calls[0].url).toContain('page_size=366');
    expect(activity.totals).toMatchObject({ spend: 0.75, requests: 6, successful: 5, failed: 1, total_tokens: 30, cache_hits: 3, saved_cost: 0.02 });
    expect(activity.days[1].breakdown.models['gpt-4o']).toMatchObject({ cache_hits: 1, saved_cost: 0.01 });
  });

  it('/switchboard/spend/logs: the rows as the gateway sends them, with the stream flag and the error text', async () => {
    const row: SpendLogView = {
      request_id: 'call-1', call_type: 'chat_completion', startTime: '2026-11-23T10:00:00.000Z', endTime: '2026-11-23T10:00:01.250Z', api_key: 'hash-1', key_alias: 'billing',
      user: 'alice', team_id: null, model: 'gpt-4o', model_id: 'dep-1', custom_llm_provider: 'openai', upstream_model: 'gpt-4o-2024-08-06', status: 'failure', http_status: 502,
      stream: true, error_code: 'upstream_error', error_message: 'the upstream answered 500', spend: null, prompt_tokens: null, completion_tokens: null, total_tokens: null,
      cache_read_input_tokens: null, latency_ms: 1250, time_to_first_token_ms: null, retries: 1, fallbacks: 0, byok: false, credits: null, power_level: null, aborted: false, usage_adjusted: false, cache_hit: false, saved_cost: null, agent: null, agent_execution: null, routing_rule: null, metadata: {}, messages: null, response: null,
    };
    answer({ data: [row], page: 1, page_size: 50, has_more: true });
    const page = await spendLogs({ model: 'gpt-4o', status: '' });
    expect(calls[0].url).toBe('/switchboard/spend/logs?model=gpt-4o&page=1&page_size=50');
    expect(page).toEqual({ rows: [row], has_more: true, page: 1, page_size: 50 });
  });

  it('/router/settings: fallback chains as maps for the form, and the strategies the gateway offers', async () => {
    const answerBody: RouterSettingsAnswer = {
      router_settings: {
        routing_strategy: 'least-busy', routing_strategy_args: {}, num_retries: 2, retry_policy: {}, retry_after: 0, allowed_fails: 3, cooldown_time: 30, disable_cooldowns: false, timeout: null,
        fallbacks: [{ 'gpt-4o': ['gpt-4o-mini', 'claude'] }, { claude: ['gpt-4o'] }], context_window_fallbacks: [], content_policy_fallbacks: [], default_fallbacks: [], max_fallbacks: 5,
      },
      editable: true,
      overrides: { num_retries: 2 },
      available_strategies: ['simple-shuffle', 'least-busy'],
    };
    answer(answerBody);
    const settings = await routerSettings();
    expect(settings).toMatchObject({ routing_strategy: 'least-busy', num_retries: 2, timeout: null, editable: true, overrides: { num_retries: 2 }, available_strategies: ['simple-shuffle', 'least-busy'] });
    expect(settings.fallbacks).toEqual({ 'gpt-4o': ['gpt-4o-mini', 'claude'], claude: ['gpt-4o'] });
    expect(settings.context_window_fallbacks).toEqual({});
  });
});

describe('streamChat', () => {
  function sse(text: string, cuts: number[]): ReadableStream<Uint8Array> {
    const bytes = new TextEncoder().encode(text);
    const points = [0, ...cuts, bytes.length];
    return new ReadableStream({
      start(controller) {
        for (let index = 0; index < points.length - 1; index += 1) controller.enqueue(bytes.slice(points[index], points[index + 1]));
        controller.close();
      },
    });
  }
  const chunk = (content: string) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content } }] })}\n\n`;

  it('reads text, usage and headers from an SSE stream split at any byte', async () => {
    const body = `${chunk('Hel')}${chunk('lo ')}${chunk('wörld')}data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 12, completion_tokens: 5 } })}\r\n\r\ndata: [DONE]\n\n`;
    for (const cuts of [[], [1, 7, 40, 41, 90], Array.from({ length: 60 }, (_, index) => index * 3 + 1)]) {
      answer(sse(body, cuts), { headers: { 'content-type': 'text/event-stream', 'x-switchboard-call-id': 'call-9', 'x-switchboard-model-id': 'dep-1' } });
      const pieces: string[] = [];
      const result = await streamChat({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], powerLevel: 'high' }, (text) => pieces.push(text));
      expect(pieces.join('')).toBe('Hello wörld');
      expect(result).toMatchObject({ text: 'Hello wörld', prompt_tokens: 12, completion_tokens: 5, call_id: 'call-9', model_id: 'dep-1', cost: null });
      expect(result.ttft_ms).not.toBeNull();
    }
    const sent = calls.at(-1)!;
    expect(JSON.parse(String(sent.init.body))).toMatchObject({ model: 'gpt-4o', stream: true, stream_options: { include_usage: true } });
    expect(sent.init.headers).toMatchObject({ 'x-power-level': 'high', authorization: 'Bearer sk-session-key' });
  });

  it('throws the message of an error event that ends a stream', async () => {
    answer(sse(`${chunk('Hi')}data: {"error":{"message":"upstream reset the connection"}}\n\n`, [5]), { headers: { 'content-type': 'text/event-stream' } });
    await expect(streamChat({ model: 'gpt-4o', messages: [] }, () => {})).rejects.toThrow('upstream reset the connection');
  });
});
