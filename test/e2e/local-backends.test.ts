/**
 * Local backends through the real server: two Ollama servers behind one model group (one has the
 * model, one does not) and a vLLM server. Discovery lists what each serves; the backend without the
 * model makes its deployment `model_missing` (named in the health report and the log), every request
 * goes to the other backend; a pull through the API streams progress and puts the deployment back in
 * traffic without a restart; a removal takes it out again; keep_warm loads a model at start.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackendView, BackendsAnswer, PullView } from '../../src/http/backend-views.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOllama, sleep } from '../support/mock-ollama.js';
import { MockVllm } from '../support/mock-vllm.js';

const withModel = new MockOllama({ models: ['llama3.1:8b', 'qwen3:latest'], reply: 'from llm01' });
const withoutModel = new MockOllama({ models: ['qwen3:latest'], reply: 'from llm02', pullable: ['llama3.1:8b'], pullSteps: 8, pullLineDelayMs: 40 });
const vllm = new MockVllm([{ id: 'Qwen/Qwen2.5-32B-Instruct', max_model_len: 32768 }], { reply: 'from vllm' });

const config = () => `
model_list:
  - model_name: llama
    litellm_params: { model: ollama_chat/llama3.1:8b, api_base: ${withModel.url} }
    model_info: { id: llama-llm01 }
  - model_name: llama
    litellm_params: { model: ollama_chat/llama3.1:8b, api_base: ${withoutModel.url} }
    model_info: { id: llama-llm02 }
  - model_name: qwen3
    litellm_params: { model: ollama_chat/qwen3, api_base: ${withModel.url} }
    model_info: { id: qwen3-llm01, keep_warm: true }
  - model_name: qwen-32b
    litellm_params: { model: hosted_vllm/Qwen/Qwen2.5-32B-Instruct, api_base: ${vllm.url}, api_key: sk-vllm }
    model_info: { id: qwen-32b-vllm }
  - model_name: qwen-7b
    litellm_params: { model: hosted_vllm/Qwen/Qwen2.5-7B-Instruct, api_base: ${vllm.url}, api_key: sk-vllm }
    model_info: { id: qwen-7b-vllm }
router_settings:
  disable_cooldowns: true
general_settings:
  master_key: ${MASTER_KEY}
  health_check_interval: 0
  health_check_down_retry_interval: 1
`;

interface DeploymentView {
  deployment_id: string;
  status: string;
  last_error: string | null;
  backend_id: string | null;
}

let gateway: TestGateway;
let api: Management;
const lines: Array<Record<string, unknown>> = [];

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 8_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await sleep(25);
  }
}

const health = async (id: string) => (await api.ok<{ deployments: DeploymentView[] }>('GET', '/health/providers')).deployments.find((view) => view.deployment_id === id)!;
const backends = async () => (await api.ok<BackendsAnswer>('GET', '/backends')).backends;
const backendAt = async (url: string) => (await backends()).find((backend) => backend.api_base === url)!;
const clientChats = (mock: MockOllama) => mock.requestsTo('/api/chat').filter((request) => Array.isArray(request.body.messages) && (request.body.messages as unknown[]).length > 0 && (request.body.options as { num_predict?: number } | undefined)?.num_predict !== 1).length;

beforeAll(async () => {
  await Promise.all([withModel.start(), withoutModel.start(), vllm.start()]);
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  gateway = await startGateway(config(), { logger: pino({ level: 'info' }, sink) });
  api = new Management(gateway.url);
  // The backends are read once at start: the deployment whose model is missing is known at once.
  await until(() => health('llama-llm02'), (view) => view.status === 'model_missing', 'llama-llm02 to be model_missing');
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([withModel.close(), withoutModel.close(), vllm.close()]);
});

describe('discovery', () => {
  it('lists every local backend with its models, loaded state, health and deployments', async () => {
    const list = await until(backends, (items) => items.length === 3 && items.every((item) => item.status === 'up'), 'three backends up');
    const llm01 = list.find((backend) => backend.api_base === withModel.url)!;
    expect(llm01).toMatchObject({ kind: 'ollama', providers: ['ollama_chat'], status: 'up', error: null, manageable: true, missing_models: [] });
    expect(llm01.models.map((model) => model.name).sort()).toEqual(['llama3.1:8b', 'qwen3:latest']);
    expect(llm01.models.find((model) => model.name === 'llama3.1:8b')).toMatchObject({
      size: 4661224676,
      digest: 'a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72',
      family: 'llama',
      parameter_size: '8.0B',
      quantization: 'Q4_0',
      loaded: false,
    });
    expect(llm01.deployments.map((item) => item.deployment_id).sort()).toEqual(['llama-llm01', 'qwen3-llm01']);

    const llm02 = list.find((backend) => backend.api_base === withoutModel.url)!;
    expect(llm02.missing_models).toEqual(['llama3.1:8b']);
    expect(llm02.deployments).toEqual([expect.objectContaining({ deployment_id: 'llama-llm02', model: 'llama3.1:8b', status: 'model_missing', model_present: false })]);

    const vllmBackend = list.find((backend) => backend.api_base === vllm.url)!;
    expect(vllmBackend).toMatchObject({ kind: 'openai', providers: ['hosted_vllm'], manageable: false, missing_models: ['Qwen/Qwen2.5-7B-Instruct'] });
    expect(vllmBackend.models).toEqual([expect.objectContaining({ name: 'Qwen/Qwen2.5-32B-Instruct', max_model_len: 32768, loaded: null })]);
    // The key of the vLLM deployments reached its /v1/models (vLLM started with --api-key).
    expect(vllm.modelListRequests).toBeGreaterThan(0);
    expect((await api.ok<BackendView>('GET', `/backends/${llm01.id}`)).api_base).toBe(withModel.url);
  });

  it('shows a model loaded in memory (Ollama /api/ps) and the keep_warm load at start, with its load time', async () => {
    const llm01 = await until(() => backendAt(withModel.url), (backend) => backend.warm_ups.length > 0, 'the keep_warm load');
    expect(llm01.warm_ups).toEqual([expect.objectContaining({ model: 'qwen3', error: null })]);
    expect(llm01.warm_ups[0].load_ms).toBeGreaterThanOrEqual(0);
    // Ollama's load answer carries no load_duration (only done_reason "load"): the wall time is what is known.
    expect(llm01.warm_ups[0].server_load_ms).toBeNull();
    const load = withModel.requestsTo('/api/chat').concat(withModel.requestsTo('/api/generate')).find((request) => request.body.keep_alive !== undefined);
    expect(load?.path).toBe('/api/generate');
    expect(load?.body).toEqual({ model: 'qwen3', keep_alive: -1, stream: false });
    await api.ok('POST', '/health/check');
    const after = await backendAt(withModel.url);
    expect(after.models.find((model) => model.name === 'qwen3:latest')).toMatchObject({ loaded: true, size_vram: 5137025024 });
  });

  it('needs llm.manage_providers; other keys see which model is missing, never the backend URL', async () => {
    const { key } = await api.generateKey({});
    expect((await api.call('GET', '/backends', undefined, key)).status).toBe(403);
    const report = await api.ok<{ deployments: DeploymentView[] }>('GET', '/health/providers', undefined, key);
    expect(report.deployments.find((view) => view.deployment_id === 'llama-llm02')).toMatchObject({ status: 'model_missing', last_error: 'model llama3.1:8b is not pulled on its backend' });
    const cached = await api.ok<{ unhealthy_endpoints: Array<{ model_id: string; error: string }> }>('GET', '/health', undefined, key);
    expect(cached.unhealthy_endpoints.find((view) => view.model_id === 'llama-llm02')?.error).toBe('model llama3.1:8b is not pulled on its backend');
    const id = (await backendAt(withoutModel.url)).id;
    expect((await api.call('POST', `/backends/${id}/models/pull`, { model: 'llama3.1:8b' }, key)).status).toBe(403);
    expect((await api.call('DELETE', `/backends/${id}/models/qwen3:latest`, undefined, key)).status).toBe(403);
  });
});

describe('missing models', () => {
  it('marks the deployment model_missing, names the model and the backend, and logs it', async () => {
    const view = await health('llama-llm02');
    expect(view.status).toBe('model_missing');
    expect(view.last_error).toBe(`model llama3.1:8b is not pulled on ${withoutModel.url}`);
    expect(view.backend_id).toBe((await backendAt(withoutModel.url)).id);
    expect((await health('qwen-7b-vllm')).last_error).toBe(`model Qwen/Qwen2.5-7B-Instruct is not served by ${vllm.url}`);
    expect(lines.some((line) => line.msg === 'deployment health changed' && line.deployment === 'llama-llm02' && line.to === 'model_missing' && line.error === `model llama3.1:8b is not pulled on ${withoutModel.url}`)).toBe(true);
    const report = await api.ok<{ deployments: DeploymentView[]; providers: Array<{ provider: string; model_missing: number }> }>('POST', '/health/check');
    expect(report.providers.find((provider) => provider.provider === 'ollama_chat')?.model_missing).toBe(1);
    const round = lines.find((line) => line.msg === 'health check round');
    expect(round).toMatchObject({ model_missing: 2 });
    expect(round?.missingModels).toEqual(expect.arrayContaining([`llama-llm02: model llama3.1:8b is not pulled on ${withoutModel.url}`]));
  });

  it('sends no traffic to it: 50 requests, 0 failed, all on the backend that has the model', async () => {
    const before = clientChats(withoutModel);
    const client = gateway.openai();
    const answers = await Promise.allSettled(Array.from({ length: 50 }, () => client.chat.completions.create({ model: 'llama', messages: [{ role: 'user', content: 'hi' }] })));
    expect(answers.filter((answer) => answer.status === 'rejected')).toEqual([]);
    expect(answers.every((answer) => answer.status === 'fulfilled' && answer.value.choices[0].message.content === 'from llm01')).toBe(true);
    expect(clientChats(withoutModel)).toBe(before);
  });

  it('refuses pulls on a vLLM backend, unknown backends and bodies it does not understand', async () => {
    const vllmId = (await backendAt(vllm.url)).id;
    const refused = await api.call<{ error: { message: string } }>('POST', `/backends/${vllmId}/models/pull`, { model: 'Qwen/Qwen2.5-7B-Instruct' });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toContain('Ollama backends only');
    expect((await api.call('POST', '/backends/nope/models/pull', { model: 'llama3.1:8b' })).status).toBe(404);
    const id = (await backendAt(withoutModel.url)).id;
    expect((await api.call('POST', `/backends/${id}/models/pull`, { model: 'llama3.1:8b', insecure: true })).status).toBe(400);
    expect((await api.call('POST', `/backends/${id}/models/pull`, {})).status).toBe(400);
  });
});

describe('pull and remove', () => {
  it('pulls through the API with progress, one pull at a time, and the deployment takes traffic without a restart', async () => {
    const id = (await backendAt(withoutModel.url)).id;
    const started = await api.call<PullView>('POST', `/backends/${id}/models/pull`, { model: 'llama3.1:8b' });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ model: 'llama3.1:8b', state: 'running', started_by: 'master' });
    const again = await api.call<{ error: { message: string } }>('POST', `/backends/${id}/models/pull`, { model: 'llama3.1:8b' });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toContain('already being pulled');

    const seen: PullView[] = [];
    const done = await until(
      async () => {
        const progress = await api.ok<PullView>('GET', `/backends/${id}/models/pull?model=llama3.1:8b`);
        seen.push(progress);
        return progress;
      },
      (progress) => progress.state !== 'running',
      'the pull to end',
    );
    expect(done).toMatchObject({ state: 'succeeded', status: 'success', percent: 100, error: null });
    expect(done.total).toBe(4661211424 + 12403);
    expect(seen.some((progress) => progress.state === 'running' && progress.percent !== null && progress.percent > 0 && progress.percent < 100)).toBe(true);
    expect(withoutModel.requestsTo('/api/pull')[0].body).toEqual({ model: 'llama3.1:8b', stream: true });

    await until(() => health('llama-llm02'), (view) => view.status === 'healthy', 'llama-llm02 to be healthy');
    expect((await backendAt(withoutModel.url)).missing_models).toEqual([]);
    const client = gateway.openai();
    const answers = await Promise.all(Array.from({ length: 20 }, () => client.chat.completions.create({ model: 'llama', messages: [{ role: 'user', content: 'hi' }] })));
    expect(answers.some((answer) => answer.choices[0].message.content === 'from llm02')).toBe(true);
    expect(lines.some((line) => line.msg === 'model pull finished' && line.model === 'llama3.1:8b')).toBe(true);
  });

  it('reports a pull the registry refuses as failed, with Ollama\'s error', async () => {
    const id = (await backendAt(withoutModel.url)).id;
    expect((await api.call('POST', `/backends/${id}/models/pull`, { model: 'no-such-model:1b' })).status).toBe(202);
    const failed = await until(() => api.ok<PullView>('GET', `/backends/${id}/models/pull?model=no-such-model:1b`), (progress) => progress.state !== 'running', 'the pull to fail');
    expect(failed).toMatchObject({ state: 'failed' });
    expect(failed.error).toContain('pull model manifest: file does not exist');
  });

  it('removes a model: its deployment there becomes model_missing and traffic moves away', async () => {
    const id = (await backendAt(withoutModel.url)).id;
    const removed = await api.call<{ deleted: string; backend: BackendView }>('DELETE', `/backends/${id}/models/llama3.1:8b`);
    expect(removed.status).toBe(200);
    expect(removed.body.backend.missing_models).toEqual(['llama3.1:8b']);
    expect(withoutModel.requestsTo('/api/delete').at(-1)?.body).toEqual({ model: 'llama3.1:8b' });
    expect((await health('llama-llm02')).status).toBe('model_missing');
    expect((await api.call('DELETE', `/backends/${id}/models/llama3.1:8b`)).status).toBe(404);
    expect(lines.some((line) => line.msg === 'model removed' && line.by === 'master')).toBe(true);
  });
});

describe('a model removed behind the gateway\'s back', () => {
  it('is found out by the first 404: the backend is read again and the deployment becomes model_missing', async () => {
    withModel.installed = withModel.installed.filter((name) => name !== 'llama3.1:8b');
    const error = await gateway
      .openai()
      .chat.completions.create({ model: 'llama', messages: [{ role: 'user', content: 'hi' }] })
      .then(() => undefined, (caught: unknown) => caught as { status?: number });
    expect(error?.status).toBe(404);
    const view = await until(() => health('llama-llm01'), (item) => item.status === 'model_missing', 'llama-llm01 to be model_missing');
    expect(view.last_error).toBe(`model llama3.1:8b is not pulled on ${withModel.url}`);
    const next = await gateway
      .openai()
      .chat.completions.create({ model: 'llama', messages: [{ role: 'user', content: 'hi' }] })
      .then(() => undefined, (caught: unknown) => caught as { status?: number; message?: string });
    expect(next?.status).toBe(503);
    // The client learns which model is missing, not where the operator's servers are.
    expect(next?.message).toContain('model llama3.1:8b is not pulled on its backend; model llama3.1:8b is not pulled on its backend');
    expect(next?.message).not.toContain('127.0.0.1');
  });
});

describe('models added at run time', () => {
  it('reads the backend of a model added through /model/new at once: a missing model is known before any round', async () => {
    await api.ok('POST', '/model/new', { model_name: 'mistral', litellm_params: { model: 'ollama_chat/mistral:7b', api_base: withoutModel.url }, model_info: { id: 'mistral-llm02' } });
    const view = await until(() => health('mistral-llm02'), (item) => item.status === 'model_missing', 'mistral-llm02 to be model_missing');
    expect(view.last_error).toBe(`model mistral:7b is not pulled on ${withoutModel.url}`);
    expect((await backendAt(withoutModel.url)).missing_models).toContain('mistral:7b');
  });
});
