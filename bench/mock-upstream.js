/**
 * The benchmark's upstream: a minimal node:http server that answers POST /v1/chat/completions in
 * OpenAI's wire format as fast as it can, so that what the benchmark measures is the proxy in
 * front of it. Responses are fixed and built once at start-up:
 *   - non-streaming: one `chat.completion` object with `usage` (content-length framed);
 *   - `stream: true`: an SSE stream of chunk events (role, eight content deltas, finish), the
 *     usage-only chunk when `stream_options.include_usage` is set, then `data: [DONE]`, each event
 *     its own write, chunked transfer encoding, no delays.
 * The request body is read and JSON.parsed like a real upstream would.
 *
 * Run by bench/run.js with child_process.fork (it reports `{ type: 'listening', port }` over IPC),
 * or on its own: `node bench/mock-upstream.js [port]`.
 */
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

const MODEL = 'gpt-4o-mini-2024-07-18';
const CREATED = 1_732_000_000;
const REPLY_WORDS = ['The ', 'capital ', 'of ', 'France ', 'is ', 'Paris, ', 'on ', 'the Seine.'];
const USAGE = {
  prompt_tokens: 28,
  completion_tokens: 9,
  total_tokens: 37,
  prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
};

const completionBody = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-BenchMock0001',
    object: 'chat.completion',
    created: CREATED,
    model: MODEL,
    choices: [{ index: 0, message: { role: 'assistant', content: REPLY_WORDS.join(''), refusal: null, annotations: [] }, logprobs: null, finish_reason: 'stop' }],
    usage: USAGE,
    service_tier: 'default',
    system_fingerprint: 'fp_bench01',
  }),
);

function streamEvents(includeUsage) {
  const base = { id: 'chatcmpl-BenchMock0002', object: 'chat.completion.chunk', created: CREATED, model: MODEL, service_tier: 'default', system_fingerprint: 'fp_bench01' };
  const events = [{ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }], ...(includeUsage ? { usage: null } : {}) }];
  for (const word of REPLY_WORDS) {
    events.push({ ...base, choices: [{ index: 0, delta: { content: word }, logprobs: null, finish_reason: null }], ...(includeUsage ? { usage: null } : {}) });
  }
  events.push({ ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }], ...(includeUsage ? { usage: null } : {}) });
  if (includeUsage) events.push({ ...base, choices: [], usage: USAGE });
  return [...events.map((event) => Buffer.from(`data: ${JSON.stringify(event)}\n\n`)), Buffer.from('data: [DONE]\n\n')];
}

const STREAM_WITH_USAGE = streamEvents(true);
const STREAM_WITHOUT_USAGE = streamEvents(false);

const JSON_HEADERS = { 'content-type': 'application/json', 'content-length': String(completionBody.length), 'openai-processing-ms': '212', 'x-request-id': 'req_bench' };
const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'openai-processing-ms': '180', 'x-request-id': 'req_bench' };

function sendError(response, status, message) {
  const body = JSON.stringify({ error: { message, type: 'invalid_request_error', param: null, code: null } });
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
  response.end(body);
}

function handle(request, response, text) {
  if (request.method !== 'POST' || !request.url.startsWith('/v1/chat/completions')) {
    return sendError(response, 404, `Invalid URL (${request.method} ${request.url})`);
  }
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    return sendError(response, 400, 'We could not parse the JSON body of your request.');
  }
  if (body === null || typeof body !== 'object' || !Array.isArray(body.messages)) {
    return sendError(response, 400, "Missing required parameter: 'messages'.");
  }
  if (body.stream !== true) {
    response.writeHead(200, JSON_HEADERS);
    response.end(completionBody);
    return;
  }
  const events = body.stream_options?.include_usage === true ? STREAM_WITH_USAGE : STREAM_WITHOUT_USAGE;
  response.writeHead(200, SSE_HEADERS);
  const last = events.length - 1;
  for (let index = 0; index < last; index++) response.write(events[index]);
  response.end(events[last]);
}

export function createMockUpstream() {
  const server = createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => handle(request, response, chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8')));
  });
  server.keepAliveTimeout = 65_000;
  return server;
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const server = createMockUpstream();
  server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
    const { port } = server.address();
    if (process.send) process.send({ type: 'listening', port });
    else console.log(`mock upstream listening on http://127.0.0.1:${port}/v1`);
  });
  // Forked: exit with the runner (the IPC channel closing means it is gone).
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}
