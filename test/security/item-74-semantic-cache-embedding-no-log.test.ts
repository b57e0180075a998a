/**
 * The semantic cache embeds the prompt with a call of its own (src/cache/embedder.ts), recorded and
 * sent to the logging callbacks like any call. That sub-call was given a fresh context without the
 * request's `metadata`, so a request that said `"no-log": true` still had its prompt sent to every
 * logging destination — as the embedding call's input. Now the sub-call inherits what decides
 * logging from its parent: the request's no-log (the key's travels with the caller, message logging
 * is the gateway's setting); its usage row is kept as for any no-log call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI } from '../support/mock-openai.js';
import { MockLogReceiver } from '../support/mock-log-receiver.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { clientFor, Management } from '../support/management.js';

let upstream: MockOpenAI;
let logs: MockLogReceiver;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  logs = new MockLogReceiver();
  await logs.start();
  gateway = await startGateway(
    `
model_list:
  - model_name: chat
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream-test}
  - model_name: embed
    litellm_params: {model: openai/text-embedding-3-small, api_base: "${upstream.url}", api_key: sk-upstream-test}
    model_info: {id: dep-embed, mode: embedding}
general_settings:
  master_key: ${MASTER_KEY}
  store_prompts_in_spend_logs: true
litellm_settings:
  callbacks: ["generic_api"]
  cache: true
  cache_params:
    type: local-semantic
    similarity_threshold: 0.99
    embedding_model: embed
`,
    { env: { GENERIC_LOGGER_ENDPOINT: `${logs.url}/logs` }, callbackTuning: { flushIntervalMs: 20 } },
  );
});

afterAll(async () => {
  await gateway?.close();
  await logs?.close();
  await upstream?.close();
});

type Payload = { id: string; call_type: string; messages: unknown };

async function waitForPayload(match: (payload: Payload) => boolean, what: string): Promise<Payload> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const payload = logs.items<Payload>().find(match);
    if (payload) return payload;
    if (Date.now() > deadline) throw new Error(`no callback payload for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const mentions = (text: string) => (payload: Payload) => JSON.stringify(payload.messages ?? null).includes(text);

function embeddingCalls(): number {
  return upstream.requests.filter((request) => request.url.endsWith('/embeddings')).length;
}

describe("the semantic cache's embedding call is logged as its parent is", () => {
  it('a no-log request (and a no-log key) sends neither the call nor its embedding to the callbacks', async () => {
    const before = embeddingCalls();
    // A request whose metadata says no-log.
    await gateway.openai().chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'secret-by-request lorem' }], metadata: { 'no-log': true } } as never);
    // A key whose metadata says no-log.
    const key = await new Management(gateway.url).generateKey({ metadata: { 'no-log': true } });
    await clientFor(gateway.url, key.key).chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'secret-by-key ipsum' }] });
    // An ordinary call after them: once its embedding's payload arrives, theirs would have (one FIFO queue).
    const ordinary = await gateway.openai().chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'ordinary dolor' }] }).withResponse();
    expect(embeddingCalls()).toBe(before + 3);
    const embedded = await waitForPayload((payload) => payload.call_type === 'aembedding' && mentions('ordinary dolor')(payload), 'the ordinary embedding');
    await waitForPayload((payload) => payload.id === ordinary.response.headers.get('x-switchboard-call-id'), 'the ordinary call');
    expect(embedded.messages).toBe('user: ordinary dolor');
    const items = logs.items<Payload>();
    expect(items.filter(mentions('secret-by-request'))).toEqual([]);
    expect(items.filter(mentions('secret-by-key'))).toEqual([]);

    // The embedding calls' usage rows are kept, as for any no-log call.
    await gateway.flushUsage();
    const rows = (await gateway.runtime.usageLogs()!.listRecent(20)).filter((row) => row.endpoint === 'embeddings');
    expect(rows).toHaveLength(3);
    expect(rows.every((row) => row.status === 'success' && row.model_group === 'embed')).toBe(true);
  });
});
