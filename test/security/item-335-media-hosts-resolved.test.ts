/**
 * Item 335: item 150 refused media URLs whose host is internal as written (an address, a bare
 * name, `.internal`, an address spelt inside a wildcard-DNS name), but read every other DNS name as
 * public. A self-hosted upstream (vLLM, SGLang, …) resolves the name itself, from inside the
 * operator's network: a name in anyone's own DNS zone pointed at 169.254.169.254 or 10.x, or one of
 * the operator's split-horizon names (`grafana.corp.example.com`, answered with a private address
 * inside the network), had it fetch internal services for any key. Now a name that passed is
 * resolved with the system resolver before anything is sent, and refused with 400 naming the field
 * and the kind of address (not the address) when any address it resolves to is internal — on every route that checks media
 * URLs; public and unresolvable names pass (a rebinding name, whose answer changes between the two
 * lookups, is the documented residual risk). An admin key (llm.manage_providers) is not checked.
 *
 * The resolver is the system's (`dns.promises.lookup`), answered here by a table: this machine
 * has no DNS for such names.
 */
import dns from 'node:dns';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockVllm } from '../support/mock-vllm.js';
import { sdkError } from '../support/sdk-errors.js';

/** What the operator's (or the attacker's) DNS answers for each name; any other name: NXDOMAIN. */
const ZONE: Record<string, string[]> = {
  'grafana.corp.example.com': ['10.20.30.40'],
  'img.attacker.example': ['169.254.169.254'],
  'v6.attacker.example': ['2001:db8::7', 'fd00::1'],
  'mixed.attacker.example': ['93.184.216.34', '127.0.0.1'],
  'mapped.attacker.example': ['::ffff:192.168.0.10'],
  'cdn.example.com': ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'],
};
const lookups: string[] = [];

let vllm: MockVllm;
let gateway: TestGateway;
let key: string;

beforeAll(async () => {
  const real = dns.promises.lookup.bind(dns.promises);
  vi.spyOn(dns.promises, 'lookup').mockImplementation((async (name: string, options: unknown) => {
    const zone = ZONE[name];
    if (zone === undefined) {
      if (name === '127.0.0.1' || name === 'localhost') return real(name, options as dns.LookupAllOptions);
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    }
    lookups.push(name);
    return zone.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  }) as typeof dns.promises.lookup);
  vllm = new MockVllm([{ id: 'Qwen/Qwen2.5-VL-7B-Instruct', max_model_len: 32768 }]);
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
  vi.restoreAllMocks();
  await gateway?.close();
  await vllm?.close();
});

beforeEach(() => {
  vllm.requests.length = 0;
  lookups.length = 0;
});

const post = (path: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${key}` }) =>
  fetch(`${gateway.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
const chatWith = (part: Record<string, unknown>) => ({ model: 'qwen-vl', max_tokens: 20, messages: [{ role: 'user', content: [{ type: 'text', text: 'Describe this.' }, part] }] });
const image = (url: string) => ({ type: 'image_url', image_url: { url } });

describe('a media URL whose name resolves to an internal address is refused', () => {
  it('/v1/chat/completions (openai SDK): a split-horizon name answered with a private address is refused with 400 naming the field and the kind of address (not the address); nothing is sent', async () => {
    const client = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const error = await sdkError(
      client.chat.completions.create({ model: 'qwen-vl', max_tokens: 20, messages: [{ role: 'user', content: [{ type: 'text', text: 'Describe this.' }, { type: 'image_url', image_url: { url: 'https://grafana.corp.example.com/render/d-solo/x.png' } }] }] }),
      OpenAI.BadRequestError,
    );
    // Before: 200, and vLLM was handed the URL to fetch from inside the network.
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/"grafana\.corp\.example\.com" resolves to a private address \(RFC 1918\)/);
    // The kind, not the address: a refusal must not map the operator's internal names.
    expect(error.message).not.toContain('10.20.30.40');
    expect(error.message).toMatch(/llm\.manage_providers/);
    expect((error.error as { param?: string }).param).toBe('messages[0].content[1].image_url.url');
    expect(vllm.requests).toEqual([]);
    expect(lookups).toEqual(['grafana.corp.example.com']);
  });

  it('any internal address among a name’s answers, IPv4, IPv6 and IPv4-mapped, in every media part', async () => {
    for (const [name, kind] of [
      ['img.attacker.example', 'a link-local address'],
      ['v6.attacker.example', 'a unique local address'],
      ['mixed.attacker.example', 'loopback'],
      ['mapped.attacker.example', 'a private address'],
    ]) {
      const url = `http://${name}:8080/latest/meta-data/`;
      for (const part of [image(url), { type: 'video_url', video_url: { url } }, { type: 'audio_url', audio_url: { url } }, { type: 'image_url', image_url: url }]) {
        const response = await post('/v1/chat/completions', chatWith(part));
        const body = (await response.json()) as { error: { message: string } };
        expect(response.status, `${part.type} ${name}`).toBe(400);
        expect(body.error.message).toContain(`"${name}" resolves to ${kind}`);
      }
    }
    // Python's urlsplit reads the host after the last '@': that reading is resolved too.
    const response = await post('/v1/chat/completions', chatWith(image('http://cdn.example.com@img.attacker.example/x.png')));
    expect(response.status).toBe(400);
    expect(vllm.requests).toEqual([]);
  });

  it('every route that relays media URLs: /v1/messages (Anthropic SDK), /v1/responses, the /openai relay, /v1/embeddings', async () => {
    const url = 'http://img.attacker.example/latest/meta-data/iam/security-credentials/';
    const anthropic = new Anthropic({ apiKey: key, baseURL: gateway.url, maxRetries: 0 });
    const error = await sdkError(
      anthropic.messages.create({ model: 'qwen-vl', max_tokens: 20, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url } }, { type: 'text', text: 'What is it?' }] }] }),
      Anthropic.BadRequestError,
    );
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/resolves to a link-local address/);
    for (const [path, body] of [
      ['/v1/responses', { model: 'qwen-vl', max_output_tokens: 20, input: [{ role: 'user', content: [{ type: 'input_text', text: 'What is it?' }, { type: 'input_image', image_url: url }] }] }],
      ['/openai/v1/chat/completions', chatWith(image(url))],
      ['/v1/embeddings', { model: 'qwen-vl', input: 'x', messages: [{ role: 'user', content: [image(url)] }] }],
    ] as const) {
      const response = await post(path, body);
      expect(response.status, path).toBe(400);
      expect(((await response.json()) as { error: { message: string } }).error.message, path).toMatch(/resolves to a link-local address/);
    }
    expect(vllm.requests).toEqual([]);
  });

  it('more than 32 different hosts in one request are refused before any lookup', async () => {
    const parts = Array.from({ length: 33 }, (_, index) => image(`https://host${index}.images.example.org/x.png`));
    const response = await post('/v1/chat/completions', { model: 'qwen-vl', max_tokens: 20, messages: [{ role: 'user', content: [{ type: 'text', text: 'Compare.' }, ...parts] }] });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { message: string; param: string } };
    expect(body.error.message).toMatch(/33 different hosts; at most 32/);
    expect(body.error.param).toBe('messages[0].content[33].image_url.url');
    expect(lookups).toEqual([]);
    expect(vllm.requests).toEqual([]);
  });
});

describe('what stays allowed', () => {
  it('a name resolving to public addresses only, and a name that does not resolve, reach the upstream; a text-only request looks nothing up', async () => {
    for (const url of ['https://cdn.example.com/cat.png', 'https://nowhere.example.net/cat.png']) {
      const response = await post('/v1/chat/completions', chatWith(image(url)));
      expect(response.status, url).toBe(200);
    }
    expect(lookups).toEqual(['cdn.example.com']);
    const text = await post('/v1/chat/completions', { model: 'qwen-vl', max_tokens: 20, messages: [{ role: 'user', content: 'See https://img.attacker.example/x.png' }] });
    expect(text.status).toBe(200);
    expect(lookups).toEqual(['cdn.example.com']);
    expect(vllm.requests).toHaveLength(3);
  });

  it('an admin key (llm.manage_providers) names internal hosts without a lookup', async () => {
    const response = await post('/v1/chat/completions', chatWith(image('https://grafana.corp.example.com/x.png')), { authorization: `Bearer ${MASTER_KEY}` });
    expect(response.status).toBe(200);
    expect(lookups).toEqual([]);
    expect(vllm.requests).toHaveLength(1);
  });
});
