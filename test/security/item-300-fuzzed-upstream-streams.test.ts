/**
 * A seeded, bounded fuzzer over faulty UPSTREAM streams: a client streams through
 * /v1/chat/completions (stream: true, include_usage) with a key that has a budget, to an OpenAI,
 * Anthropic, Gemini or Ollama deployment whose upstream starts from a valid stream of its own wire
 * format (OpenAI SSE chunks; Anthropic's message_start … message_stop events; Gemini's
 * streamGenerateContent?alt=sse; Ollama's NDJSON) and mutates it: an event dropped, duplicated or
 * swapped with its neighbour, the stream cut at a random byte (connection reset, clean chunked end
 * or a bare FIN), every stream split across TCP writes at random points (inside UTF-8 characters
 * too), one event's JSON corrupted, usage that lies (negative, "NaN", 1e15, fewer tokens than the
 * text, fractional, null), an error event mid-stream, keep-alive comments only. Seeds are fixed
 * (300_000 + provider); 480 streams, the run takes about 5 s.
 *
 * Properties: the client always gets a well-formed SSE stream that ends (its last data is [DONE]
 * or an error object; with the openai SDK the iterator completes or throws its APIError, never
 * hangs); no non-200 answer unless the upstream failed before its first text, and then a
 * well-formed JSON error; no error-level log line and no unhandled rejection; every call is
 * recorded exactly once with a non-negative cost that is at least the output price of the text the
 * client received, counted locally (atLeastCounted in stream-relay.ts), and never above the
 * reservation bound (src/billing/max-cost.ts: prompt ≤ bytes + 16, completion ≤ max_tokens).
 *
 * Before the fixes the fuzzer found 3 distinct failures (10 of the 480 cases; each deployment's
 * health record is reset per batch, since five failed calls in a row rightly mark it down):
 * 1. An OpenAI stream cut inside an event (a clean end of the HTTP body, or a FIN) reached the client
 *    as a `data:` line holding half a JSON chunk: SseParser.end() dispatched the unterminated event.
 *    Now a trailing event without its blank line is dispatched only when whole ([DONE] or JSON), as
 *    the SSE spec drops an incomplete event; the stream ends with its error event.
 * 2. Anthropic: a message_delta whose usage.output_tokens was not a count (-1e308, "NaN", null) left
 *    message_start's placeholder output_tokens (1) as the output: 1 token billed for 11 streamed.
 *    Now the output is unknown there and the relay counts the text.
 * 3. Ollama: a final line whose eval_count was not a count was read as absent, i.e. zero output
 *    (omitempty): 0 tokens billed for 11 streamed. Now the output is counted locally.
 * Left as they are (documented): a well-formed final report of fewer tokens than the text, after all
 * of it, is billed as reported (README, "running totals"); an OpenAI chunk that carries no usage is
 * relayed verbatim, unparsed (the hot path), so a corrupted one reaches the client as it came.
 */
import { Socket } from 'node:net';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countTextTokens } from '../../src/gateway/token-count.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { promptBound } from '../support/management.js';
import { seededRandom } from '../support/random.js';

type Provider = 'openai' | 'anthropic' | 'gemini' | 'ollama';
const PROVIDERS: Provider[] = ['openai', 'anthropic', 'gemini', 'ollama'];
const MAX_TOKENS = 64;
/** Multi-byte text on purpose: a write split inside a character must not garble or drop it. */
const WORDS = ['Hél', 'lo ', '🌍 ', 'wörld', ' 日本', ' done.'];
/** Prices of every deployment: 1 µ$ an input token, 2 µ$ an output token. */
const PRICES = 'input_cost_per_token: 0.000001, output_cost_per_token: 0.000002';

/** Usage numbers as raw JSON text, so a lie can be any JSON value. */
interface Usage {
  prompt: string;
  completion: string;
}
const HONEST: Usage = { prompt: '12', completion: '20' };
const LIES: Usage[] = [
  { prompt: '-5', completion: '-7' },
  { prompt: '"NaN"', completion: '"NaN"' },
  { prompt: '1e15', completion: '1e15' },
  { prompt: '12', completion: '1' },
  { prompt: '0', completion: '0' },
  { prompt: '1.5', completion: '2.5' },
  { prompt: 'null', completion: 'null' },
  { prompt: '"12"', completion: '"-3"' },
  { prompt: '9007199254740993', completion: '-1e308' },
];

interface Event {
  bytes: string;
  /** Whether the event carries answer text (the first such event is the stream's "first chunk"). */
  text: boolean;
}

function openaiEvents(usage: Usage): Event[] {
  const chunk = (delta: string, finish: string | null = null) => `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":${delta},"finish_reason":${finish === null ? 'null' : `"${finish}"`}}]}\n\n`;
  return [
    { bytes: chunk('{"role":"assistant","content":""}'), text: false },
    ...WORDS.map((word) => ({ bytes: chunk(JSON.stringify({ content: word })), text: true })),
    { bytes: chunk('{}', 'stop'), text: false },
    { bytes: `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":${usage.prompt},"completion_tokens":${usage.completion},"total_tokens":${usage.completion}}}\n\n`, text: false },
    { bytes: 'data: [DONE]\n\n', text: false },
  ];
}

function anthropicEvents(usage: Usage): Event[] {
  const event = (type: string, data: string, text = false) => ({ bytes: `event: ${type}\ndata: ${data}\n\n`, text });
  return [
    event('message_start', `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-3-opus-20240229","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":${usage.prompt},"output_tokens":1}}}`),
    event('content_block_start', '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}'),
    event('ping', '{"type":"ping"}'),
    ...WORDS.map((word) => event('content_block_delta', `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":${JSON.stringify(word)}}}`, true)),
    event('content_block_stop', '{"type":"content_block_stop","index":0}'),
    event('message_delta', `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":${usage.completion}}}`),
    event('message_stop', '{"type":"message_stop"}'),
  ];
}

function geminiEvents(usage: Usage): Event[] {
  const meta = `"usageMetadata":{"promptTokenCount":${usage.prompt},"candidatesTokenCount":${usage.completion},"totalTokenCount":${usage.completion}},"modelVersion":"gemini-1.5-pro","responseId":"r1"`;
  return WORDS.map((word, index) => ({
    bytes: `data: {"candidates":[{"content":{"parts":[{"text":${JSON.stringify(word)}}],"role":"model"}${index === WORDS.length - 1 ? ',"finishReason":"STOP"' : ''}}],${meta}}\r\n\r\n`,
    text: true,
  }));
}

function ollamaEvents(usage: Usage): Event[] {
  return [
    ...WORDS.map((word) => ({ bytes: `{"model":"llama3","created_at":"2024-07-01T00:00:00Z","message":{"role":"assistant","content":${JSON.stringify(word)}},"done":false}\n`, text: true })),
    { bytes: `{"model":"llama3","created_at":"2024-07-01T00:00:00Z","message":{"role":"assistant","content":""},"done_reason":"stop","done":true,"total_duration":1,"load_duration":1,"prompt_eval_count":${usage.prompt},"prompt_eval_duration":1,"eval_count":${usage.completion},"eval_duration":1}\n`, text: false },
  ];
}

const BASE: Record<Provider, (usage: Usage) => Event[]> = { openai: openaiEvents, anthropic: anthropicEvents, gemini: geminiEvents, ollama: ollamaEvents };
const ERROR_EVENT: Record<Provider, string> = {
  openai: 'data: {"error":{"message":"The server had an error while processing your request.","type":"server_error","code":null}}\n\n',
  anthropic: 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n',
  gemini: 'data: {"error":{"code":500,"message":"An internal error has occurred.","status":"INTERNAL"}}\r\n\r\n',
  ollama: '{"error":"an error was encountered while running the model"}\n',
};
const KEEP_ALIVE: Record<Provider, string> = { openai: ': keep-alive\n\n', anthropic: 'event: ping\ndata: {"type":"ping"}\n\n', gemini: ': keep-alive\r\n\r\n', ollama: '\n' };
const CONTENT_TYPE: Record<Provider, string> = { openai: 'text/event-stream', anthropic: 'text/event-stream', gemini: 'text/event-stream', ollama: 'application/x-ndjson' };

/** How the upstream's answer ends: in full, or cut at byte `at` of the body. */
type Ending = { kind: 'complete' } | { kind: 'reset' | 'end' | 'fin'; at: number };

interface Script {
  provider: Provider;
  label: string;
  body: Buffer;
  /** Byte offsets where the body is split across TCP writes. */
  splits: number[];
  ending: Ending;
  /** Byte offset of the first text-bearing event (Infinity when none): a fault before it is a failure before the first chunk. */
  firstTextAt: number;
  /** Byte offset of the first fault (a corrupted or error event, a cut); Infinity when none. */
  faultAt: number;
  /** A valid final report of fewer tokens than the text, after all of it: billed as reported (README, "running totals"). */
  reportedLow: boolean;
  /** OpenAI chunks without usage are relayed verbatim, unparsed (the hot path): a corrupted one reaches the client as it came. */
  verbatimCorrupt: boolean;
}

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)];

/** One mutated stream of `provider`. */
function mutate(provider: Provider, random: () => number, index: number): Script {
  const kinds = ['none', 'drop', 'duplicate', 'swap', 'cut', 'corrupt', 'lie', 'error', 'keep-alive-only', 'lie+cut', 'drop+duplicate', 'error+lie'];
  const kind = kinds[index % kinds.length];
  const labels: string[] = [kind];
  const usage = kind.includes('lie') ? pick(random, LIES) : HONEST;
  if (usage !== HONEST) labels.push(`usage ${usage.prompt}/${usage.completion}`);
  let events = BASE[provider](usage);
  if (kind.includes('drop')) {
    const at = Math.floor(random() * events.length);
    labels.push(`drop #${at}`);
    events = events.filter((_, i) => i !== at);
  }
  if (kind.includes('duplicate')) {
    const at = Math.floor(random() * events.length);
    labels.push(`duplicate #${at}`);
    events = [...events.slice(0, at + 1), events[at], ...events.slice(at + 1)];
  }
  if (kind === 'swap') {
    const at = Math.floor(random() * (events.length - 1));
    labels.push(`swap #${at}`);
    events = [...events.slice(0, at), events[at + 1], events[at], ...events.slice(at + 2)];
  }
  let faulty = -1;
  if (kind === 'corrupt') {
    const at = Math.floor(random() * events.length);
    faulty = at;
    const how = Math.floor(random() * 3);
    labels.push(`corrupt #${at} (${how})`);
    const bytes = events[at].bytes;
    const brace = bytes.indexOf('{');
    const corrupted = brace < 0 ? bytes : how === 0 ? bytes.slice(0, brace) + bytes.slice(brace + 1) : how === 1 ? bytes.replace(/"([a-z_]+)":/, '"$1":,') : bytes.replace(/\}(\s*)$/, '$1');
    events = events.map((event, i) => (i === at ? { ...event, bytes: corrupted } : event));
  }
  if (kind.includes('error')) {
    const at = 1 + Math.floor(random() * (events.length - 1));
    labels.push(`error after #${at - 1}`);
    events = [...events.slice(0, at), { bytes: ERROR_EVENT[provider], text: false }];
    faulty = at;
  }
  if (kind === 'keep-alive-only') events = Array.from({ length: 1 + Math.floor(random() * 4) }, () => ({ bytes: KEEP_ALIVE[provider], text: false }));
  let firstTextAt = Number.POSITIVE_INFINITY;
  let faultAt = Number.POSITIVE_INFINITY;
  let offset = 0;
  for (const [i, event] of events.entries()) {
    if (i === faulty) faultAt = offset;
    offset += Buffer.byteLength(event.bytes, 'utf8');
    // The first chunk has come once its event is whole.
    if (event.text && firstTextAt === Number.POSITIVE_INFINITY) firstTextAt = offset;
  }
  const body = Buffer.from(events.map((event) => event.bytes).join(''), 'utf8');
  let ending: Ending = { kind: 'complete' };
  if (kind.includes('cut') || (kind === 'keep-alive-only' && random() < 0.5)) {
    const at = random() < 0.15 ? 0 : Math.floor(random() * body.length);
    ending = { kind: pick(random, ['reset', 'end', 'fin'] as const), at };
    labels.push(`${ending.kind} at ${at}/${body.length}`);
    faultAt = Math.min(faultAt, at);
  }
  // Every stream is split at a few random byte offsets (inside multi-byte characters included).
  const splits = Array.from({ length: 1 + Math.floor(random() * 6) }, () => 1 + Math.floor(random() * (body.length - 1))).sort((a, b) => a - b);
  const reportedLow = kind === 'lie' && /^\d+(\.\d+)?$/.test(usage.prompt) && /^\d+(\.\d+)?$/.test(usage.completion);
  return { provider, label: `${provider} #${index} ${labels.join(', ')}`, body, splits, ending, firstTextAt, faultAt, reportedLow, verbatimCorrupt: provider === 'openai' && kind === 'corrupt' };
}

/** Whether the upstream failed before its first text (a cut, corrupt or error event first, or no text at all). */
const failedBeforeFirstChunk = (script: Script) => script.faultAt <= script.firstTextAt || script.firstTextAt === Number.POSITIVE_INFINITY;

const scripts = new Map<string, Script>();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The misbehaving upstream: one server for all four wire formats, the script named in the prompt. */
async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const id = /case-(\d+)/.exec(Buffer.concat(chunks).toString('utf8'))?.[1];
  const script = id === undefined ? undefined : scripts.get(id);
  if (!script) {
    response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"no script"}}');
    return;
  }
  const socket = response.socket as Socket;
  const limit = script.ending.kind === 'complete' ? script.body.length : script.ending.at;
  response.writeHead(200, { 'content-type': CONTENT_TYPE[script.provider], 'cache-control': 'no-cache' });
  if (limit === 0 && script.ending.kind !== 'complete') {
    // Failed after its headers, before any byte of the body. (A reset before the headers marks the
    // deployment down at once, README "Live traffic", and the cases after it would see only 503s.)
    response.flushHeaders();
    await sleep(1);
    if (script.ending.kind === 'reset') socket.resetAndDestroy();
    else if (script.ending.kind === 'fin') socket.end();
    else response.end();
    return;
  }
  let from = 0;
  for (const split of [...script.splits.filter((at) => at < limit), limit]) {
    if (split <= from) continue;
    response.write(script.body.subarray(from, split));
    from = split;
    await sleep(1);
    if (socket.destroyed) return;
  }
  if (script.ending.kind === 'reset') socket.resetAndDestroy();
  else if (script.ending.kind === 'fin') socket.end();
  else response.end();
}

let upstream: Server;
let upstreamUrl = '';
let gateway: TestGateway;
let budgetKey = '';
const errorLines: string[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
const DEADLINE_MS = 10_000;

interface Outcome {
  failures: string[];
  callId?: string;
  received: string;
  script: Script;
  content: string;
}

/** The events of an SSE body; undefined when it is not well-formed. */
function sseData(text: string): string[] | undefined {
  if (text !== '' && !text.endsWith('\n\n')) return undefined;
  const data: string[] = [];
  for (const block of text.split('\n\n')) {
    if (block === '') continue;
    const lines = block.split('\n');
    if (lines.some((line) => !/^(data: |data:|: ?|event: |id: |retry: )/.test(line) && !line.startsWith(':'))) return undefined;
    const payload = lines.filter((line) => line.startsWith('data:')).map((line) => line.replace(/^data: ?/, '')).join('\n');
    if (payload !== '' || lines.some((line) => line.startsWith('data:'))) data.push(payload);
  }
  return data;
}

async function viaFetch(script: Script, content: string): Promise<Outcome> {
  const outcome: Outcome = { failures: [], received: '', script, content };
  let status = 0;
  let text = '';
  try {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${budgetKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: script.provider, stream: true, stream_options: { include_usage: true }, max_tokens: MAX_TOKENS, messages: [{ role: 'user', content }] }),
      signal: AbortSignal.timeout(DEADLINE_MS),
    });
    status = response.status;
    outcome.callId = response.headers.get('x-switchboard-call-id') ?? undefined;
    text = await response.text();
  } catch (error) {
    outcome.failures.push(`${script.label}: no complete answer (${(error as Error).name}: ${(error as Error).message})`);
    return outcome;
  }
  if (status !== 200) {
    const beforeFirst = failedBeforeFirstChunk(script);
    let wellFormed = false;
    try {
      const body = JSON.parse(text) as { error?: { message?: unknown } };
      wellFormed = typeof body.error?.message === 'string' && body.error.message !== '';
    } catch {
      wellFormed = false;
    }
    if (!beforeFirst || !wellFormed || status < 400) outcome.failures.push(`${script.label}: ${status} ${beforeFirst ? '' : 'after the first chunk '}${text.slice(0, 200)}`);
    return outcome;
  }
  const data = sseData(text);
  if (!data) {
    outcome.failures.push(`${script.label}: not a well-formed SSE stream: ${JSON.stringify(text.slice(-300))}`);
    return outcome;
  }
  const last = data.at(-1);
  let lastIsError = false;
  for (const [i, payload] of data.entries()) {
    if (payload === '[DONE]') {
      if (i !== data.length - 1) outcome.failures.push(`${script.label}: [DONE] is not last`);
      continue;
    }
    let chunk: { error?: unknown; choices?: Array<{ delta?: { content?: unknown } }> };
    try {
      chunk = JSON.parse(payload);
    } catch {
      if (!script.verbatimCorrupt) outcome.failures.push(`${script.label}: data that is not JSON: ${payload.slice(0, 200)}`);
      continue;
    }
    if (chunk.error) lastIsError = i === data.length - 1;
    for (const choice of chunk.choices ?? []) if (typeof choice.delta?.content === 'string') outcome.received += choice.delta.content;
  }
  if (last !== '[DONE]' && !lastIsError) outcome.failures.push(`${script.label}: the stream ends with neither [DONE] nor an error: ${JSON.stringify(text.slice(-200))}`);
  return outcome;
}

async function viaSdk(script: Script, content: string): Promise<Outcome> {
  const outcome: Outcome = { failures: [], received: '', script, content };
  const client = new OpenAI({ apiKey: budgetKey, baseURL: `${gateway.url}/v1`, maxRetries: 0, timeout: DEADLINE_MS });
  const deadline = sleep(DEADLINE_MS).then(() => 'hang' as const);
  const run = (async () => {
    try {
      const { data: stream, response } = await client.chat.completions.create({ model: script.provider, stream: true, stream_options: { include_usage: true }, max_tokens: MAX_TOKENS, messages: [{ role: 'user', content }] }).withResponse();
      outcome.callId = response.headers.get('x-switchboard-call-id') ?? undefined;
      for await (const chunk of stream) for (const choice of chunk.choices) outcome.received += choice.delta?.content ?? '';
    } catch (error) {
      if (script.verbatimCorrupt && error instanceof SyntaxError) return 'done' as const;
      if (!(error instanceof OpenAI.APIError)) outcome.failures.push(`${script.label}: the SDK threw ${(error as Error).name}: ${(error as Error).message}`);
      else if (typeof error.status === 'number' && error.status !== 200) {
        const beforeFirst = failedBeforeFirstChunk(script);
        if (!beforeFirst) outcome.failures.push(`${script.label}: SDK ${error.status} after the first chunk: ${error.message}`);
        outcome.callId ??= error.headers?.get?.('x-switchboard-call-id') ?? undefined;
      }
    }
    return 'done' as const;
  })();
  if ((await Promise.race([run, deadline])) === 'hang') outcome.failures.push(`${script.label}: the SDK stream iterator hangs`);
  return outcome;
}

async function checkRecord(outcome: Outcome, rowsByCall: Map<string, number>): Promise<string[]> {
  const { script } = outcome;
  if (!outcome.callId) return [`${script.label}: no x-switchboard-call-id`];
  const rows = rowsByCall.get(outcome.callId) ?? 0;
  if (rows !== 1) return [`${script.label}: recorded ${rows} times`];
  const record = await gateway.recordOf(outcome.callId);
  const cost = record?.cost_micros ?? 0;
  const floor = 2 * (await countTextTokens(outcome.received));
  const ceiling = promptBound(outcome.content) + 2 * MAX_TOKENS;
  const failures: string[] = [];
  if (!Number.isFinite(cost) || cost < 0) failures.push(`${script.label}: cost ${cost}`);
  if (cost < floor && !script.reportedLow) failures.push(`${script.label}: cost ${cost} µ$ below the ${floor} µ$ of the ${JSON.stringify(outcome.received)} the client received (tokens ${record?.prompt_tokens}/${record?.completion_tokens})`);
  if (cost > ceiling) failures.push(`${script.label}: cost ${cost} µ$ above the reservation bound ${ceiling} µ$ (tokens ${record?.prompt_tokens}/${record?.completion_tokens})`);
  return failures;
}

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  upstream = createServer((request, response) => {
    serve(request, response).catch((error) => unhandled.push(error));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
  const sink = new Writable({
    write(chunk, _encoding, done) {
      errorLines.push(String(chunk));
      done();
    },
  });
  gateway = await startGateway(`model_list:
  - model_name: openai
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstreamUrl}/v1", api_key: sk-upstream}
    model_info: {id: dep-openai, ${PRICES}}
  - model_name: anthropic
    litellm_params: {model: anthropic/claude-3-opus-20240229, api_base: "${upstreamUrl}", api_key: sk-ant}
    model_info: {id: dep-anthropic, ${PRICES}}
  - model_name: gemini
    litellm_params: {model: gemini/gemini-1.5-pro, api_base: "${upstreamUrl}", api_key: g-key}
    model_info: {id: dep-gemini, ${PRICES}}
  - model_name: ollama
    litellm_params: {model: ollama_chat/llama3, api_base: "${upstreamUrl}"}
    model_info: {id: dep-ollama, ${PRICES}}
router_settings:
  num_retries: 0
  disable_cooldowns: true
general_settings:
  master_key: ${MASTER_KEY}
  background_health_checks: false
`, { logger: pino({ level: 'error' }, sink) });
  const generated = await fetch(`${gateway.url}/key/generate`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ max_budget: 1000, max_parallel_requests: 100 }) });
  budgetKey = ((await generated.json()) as { key: string }).key;
}, 30_000);

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUnhandled);
  await gateway?.close();
  await new Promise((resolve) => upstream?.close(resolve));
});

const CASES_PER_PROVIDER = 120;

describe('fuzzed upstream streams', () => {
  for (const [p, provider] of PROVIDERS.entries()) {
    it(`${provider}: every mutated upstream stream gives a well-formed, ended client stream, billed once and within bounds`, async () => {
      const random = seededRandom(300_000 + p);
      const cases = Array.from({ length: CASES_PER_PROVIDER }, (_, i) => {
        const id = String(p * 1000 + i);
        const script = mutate(provider, random, i);
        scripts.set(id, script);
        return { id, script };
      });
      errorLines.length = 0;
      unhandled.length = 0;
      const outcomes: Outcome[] = [];
      for (let i = 0; i < cases.length; i += 4) {
        // Five failed calls in a row mark a deployment down (README, "Live traffic"), as they should:
        // each batch starts from a clean health record so that the cases after them reach the upstream.
        gateway.runtime.health.forget([`dep-${provider}`]);
        outcomes.push(...(await Promise.all(cases.slice(i, i + 4).map(({ id, script }, j) => ((i + j) % 3 === 2 ? viaSdk : viaFetch)(script, `case-${id} say hello`)))));
      }
      await gateway.flushUsage();
      const rowsByCall = new Map<string, number>();
      for (const row of await gateway.runtime.usageLogs()!.listRecent(100_000)) rowsByCall.set(row.call_id, (rowsByCall.get(row.call_id) ?? 0) + 1);
      const failures: string[] = [];
      for (const outcome of outcomes) {
        failures.push(...outcome.failures);
        if (!outcome.failures.some((failure) => failure.includes('no complete answer'))) failures.push(...(await checkRecord(outcome, rowsByCall)));
      }
      expect(failures).toEqual([]);
      expect(unhandled.map(String)).toEqual([]);
      expect(errorLines.map((line) => line.slice(0, 500))).toEqual([]);
    }, 40_000);
  }
});
