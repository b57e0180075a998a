/**
 * Item 150: self-hosted OpenAI-compatible servers (vLLM, SGLang, LM Studio, …) download the media a
 * request names (`image_url`, `video_url`, `audio_url`, a Responses `input_image`, an Anthropic image
 * `url`) themselves, from inside the operator's network. The gateway passed such URLs through, so an
 * ordinary key could have a vLLM deployment GET cloud metadata, a private-range service or the
 * upstream host's own loopback services (blind SSRF; the model may also describe what it read). Now
 * an http(s) (or file:) media URL whose host is loopback, private (RFC 1918, ULA), link-local, CGNAT,
 * unspecified or not a public DNS name (no dot, `localhost`, `.local`, `.internal`, …), or a public
 * name that resolves to such an address written in it (`169.254.169.254.nip.io`, `app-10-0-0-1.sslip.io`)
 * or to loopback (`localtest.me`), is refused
 * with 400 in each route's envelope before anything is sent, unless the key holds
 * llm.manage_providers. Public URLs, data: URLs and URLs in text stay allowed.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockVllm } from '../support/mock-vllm.js';

/** Every string under a key ending in `url` / `uri` (image_url.url, video_url.url, input_image.image_url, …). */
function mediaUrls(node: unknown, key = ''): string[] {
  if (typeof node === 'string') return /(url|uri)$/i.test(key) ? [node] : [];
  if (Array.isArray(node)) return node.flatMap((item) => mediaUrls(item, key));
  if (typeof node === 'object' && node !== null) return Object.entries(node).flatMap(([name, value]) => mediaUrls(value, name));
  return [];
}

function onThisHost(value: string): boolean {
  try {
    const url = new URL(value);
    return /^https?:$/.test(url.protocol) && ['127.0.0.1', 'localhost', '[::1]', '[::ffff:7f00:1]'].includes(url.hostname);
  } catch {
    return false;
  }
}

/** vLLM's MediaConnector: before answering, it GETs each http(s) media URL the request names. */
class FetchingVllm extends MockVllm {
  readonly fetched: string[] = [];

  protected override async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.method !== 'POST') return super.handle(request, response);
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    // The test machine has no internet: only what this host serves is actually fetched.
    for (const url of mediaUrls(body).filter(onThisHost)) {
      this.fetched.push(url);
      await fetch(url, { signal: AbortSignal.timeout(1000) }).then((answer) => answer.arrayBuffer()).catch(() => undefined);
    }
    return this.respond(request, response, text);
  }
}

let vllm: FetchingVllm;
let gateway: TestGateway;
let key: string;
/** An internal service of the upstream's host (a metadata endpoint, an admin console): records every hit. */
let decoy: Server;
const hits: string[] = [];
let decoyPort = 0;

beforeAll(async () => {
  decoy = createServer((request, response) => {
    hits.push(request.url ?? '');
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.end('AccessKeyId=ASIAEXAMPLE SecretAccessKey=internal-secret');
  });
  await new Promise<void>((resolve) => decoy.listen(0, '127.0.0.1', resolve));
  decoyPort = (decoy.address() as AddressInfo).port;
  vllm = new FetchingVllm([{ id: 'Qwen/Qwen2.5-VL-7B-Instruct', max_model_len: 32768 }]);
  await vllm.start();
  gateway = await startGateway(`
model_list:
  - model_name: qwen-vl
    litellm_params: { model: hosted_vllm/Qwen/Qwen2.5-VL-7B-Instruct, api_base: ${vllm.url}, api_key: sk-vllm }
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
  health_check_interval: 0
`);
  key = (await new Management(gateway.url).generateKey({ models: ['qwen-vl'], max_budget: 10 })).key;
});

afterAll(async () => {
  await gateway?.close();
  await vllm?.close();
  await new Promise<void>((resolve) => decoy?.close(() => resolve()));
});

beforeEach(() => {
  vllm.requests.length = 0;
  vllm.fetched.length = 0;
  hits.length = 0;
});

const post = (path: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${key}` }) =>
  fetch(`${gateway.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

const chatWith = (part: Record<string, unknown>) => ({ model: 'qwen-vl', max_tokens: 20, messages: [{ role: 'user', content: [{ type: 'text', text: 'Describe this.' }, part] }] });
const internal = () => `http://127.0.0.1:${decoyPort}/latest/meta-data/iam/security-credentials/`;

describe('an ordinary key cannot make a self-hosted upstream fetch internal addresses', () => {
  it('/v1/chat/completions: an image_url on the upstream host’s loopback is refused with 400 naming the part; nothing is sent or fetched', async () => {
    const response = await post('/v1/chat/completions', chatWith({ type: 'image_url', image_url: { url: internal() } }));
    const body = (await response.json()) as { error: { message: string; param: string; type: string } };
    // Before: 200, and the decoy was hit once (GET /latest/meta-data/iam/security-credentials/).
    expect(hits).toEqual([]);
    expect(response.status).toBe(400);
    expect(body.error.param).toBe('messages[0].content[1].image_url.url');
    expect(body.error.message).toMatch(/internal.*llm\.manage_providers/);
    expect(vllm.requests).toEqual([]);
  });

  it('every media part and every spelling of an internal host is refused', async () => {
    const port = decoyPort;
    const urls = [
      `http://localhost:${port}/x.png`,
      `http://[::1]:${port}/x.png`,
      `http://[::ffff:127.0.0.1]:${port}/x.png`,
      `http://2130706433:${port}/x.png`, // 127.0.0.1 in decimal
      `http://0x7f.1:${port}/x.png`,
      `HTTP://127.1:${port}/x.png`,
      'http://169.254.169.254/latest/meta-data/',
      'http://[fd00:ec2::254]/latest/meta-data/',
      'http://metadata.google.internal/computeMetadata/v1/',
      'http://100.100.100.200/latest/meta-data/', // Alibaba Cloud's metadata (CGNAT range)
      'http://10.0.3.7:9200/_cat/indices',
      'http://172.20.0.5/admin',
      'http://192.168.1.1/',
      'http://[fc00::5]/',
      'http://[fe80::1]/',
      'http://0.0.0.0:8080/',
      'http://grafana:3000/api/snapshots', // a bare name: resolved by the upstream's own DNS
      'http://printer.local/',
      'http://vault.corp.internal/v1/secret',
      `http://evil.example\\@127.0.0.1:${port}/`, // Python's urlsplit reads the host after the '@'
      `http://user@127.0.0.1:${port}/`,
      'file:///etc/passwd',
      // Public names that resolve to an internal address written in them (wildcard DNS), or to loopback.
      'http://169.254.169.254.nip.io/latest/meta-data/',
      'http://metadata.10.0.0.1.nip.io/',
      'http://app-192-168-1-1.sslip.io/',
      'http://svc-7f000001.nip.io/',
      'http://0a000001.nip.io/',
      'http://--1.sslip.io/',
      'http://fd00--5.sslip.io/',
      'http://10-0-3-7.traefik.me/',
      'http://127.0.0.1.example.com/',
      'http://localtest.me/',
      'http://admin.lvh.me/',
    ];
    for (const url of urls) {
      for (const part of [
        { type: 'image_url', image_url: { url } },
        { type: 'video_url', video_url: { url } },
        { type: 'audio_url', audio_url: { url } },
        { type: 'image_url', image_url: url },
      ]) {
        const response = await post('/v1/chat/completions', chatWith(part));
        expect(response.status, `${part.type} ${url}`).toBe(400);
      }
    }
    expect(vllm.requests).toEqual([]);
    expect(hits).toEqual([]);
  });

  it('/v1/messages: an image source url is refused in Anthropic’s envelope', async () => {
    const response = await post(
      '/v1/messages',
      { model: 'qwen-vl', max_tokens: 20, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: internal() } }, { type: 'text', text: 'What is it?' }] }] },
      { 'x-api-key': key, 'anthropic-version': '2023-06-01' },
    );
    const body = (await response.json()) as { type: string; error: { type: string; message: string } };
    expect(response.status).toBe(400);
    expect(body.type).toBe('error');
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toMatch(/internal/);
    expect(hits).toEqual([]);
  });

  it('/v1/responses: an input_image is refused', async () => {
    const response = await post('/v1/responses', { model: 'qwen-vl', max_output_tokens: 20, input: [{ role: 'user', content: [{ type: 'input_text', text: 'What is it?' }, { type: 'input_image', image_url: internal() }] }] });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/internal/);
    expect(hits).toEqual([]);
  });

  it('/openai/v1/chat/completions (the relay, which sends the body as it came) refuses it too', async () => {
    const response = await post('/openai/v1/chat/completions', chatWith({ type: 'image_url', image_url: { url: internal() } }));
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { param: string } }).error.param).toBe('messages[0].content[1].image_url.url');
    expect(vllm.requests).toEqual([]);
    expect(hits).toEqual([]);
  });

  it('/v1/embeddings: vLLM’s multimodal chat-style embeddings (`messages`) are checked too', async () => {
    const response = await post('/v1/embeddings', { model: 'qwen-vl', input: 'x', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: internal() } }] }] });
    expect(response.status).toBe(400);
    expect(hits).toEqual([]);
  });
});

describe('what stays allowed', () => {
  it('public URLs, data: URLs and internal addresses written in text reach the upstream for an ordinary key', async () => {
    const pixel = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';
    for (const part of [
      { type: 'image_url', image_url: { url: 'https://203.0.113.9.nip.io.invalid/cat.png' } },
      { type: 'image_url', image_url: { url: 'https://8.8.8.8/cat.png' } },
      // A public address written in a name, and hashes and punycode that are no address.
      { type: 'image_url', image_url: { url: 'https://8-8-8-8.sslip.io/cat.png' } },
      { type: 'image_url', image_url: { url: 'https://0a1b2c3d.cdn.example.com/cat.png' } },
      { type: 'image_url', image_url: { url: 'https://xn--bcher-kva.example/cat.png' } },
      { type: 'image_url', image_url: { url: pixel } },
      { type: 'text', text: `Why does ${internal()} answer 200?` },
    ]) {
      const response = await post('/v1/chat/completions', chatWith(part));
      expect(response.status, JSON.stringify(part).slice(0, 80)).toBe(200);
    }
    expect(vllm.requests).toHaveLength(7);
    expect(hits).toEqual([]);
  });

  it('an admin key (llm.manage_providers) may name internal media', async () => {
    const response = await post('/v1/chat/completions', chatWith({ type: 'image_url', image_url: { url: internal() } }), { authorization: `Bearer ${MASTER_KEY}` });
    expect(response.status).toBe(200);
    expect(hits).toEqual(['/latest/meta-data/iam/security-credentials/']);
  });
});
