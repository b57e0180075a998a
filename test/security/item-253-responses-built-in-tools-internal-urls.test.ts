/**
 * Item 253 (outbound destinations chosen by clients): a `/v1/responses` request with a built-in tool
 * (`mcp`, `web_search`, `computer_use_preview`, …) is relayed untranslated, body as it came, to the
 * group's `openai/` deployments — which may be a self-hosted server on the operator's api_base
 * (LM Studio's Responses API connects to a request's remote MCP `server_url`; vLLM and others
 * download an `input_image` URL themselves). That branch skipped the internal-URL check every other
 * route makes (item 150), so an ordinary key could name an MCP `server_url` at a loopback, private or
 * metadata address — or, by adding any built-in tool, slip an internal `input_image` past item 150's
 * refusal — and the upstream received it (200). Now the relayed body is checked like the translated
 * one: such URLs are refused with 400 naming the field before anything is sent, unless the key holds
 * llm.manage_providers; public MCP servers stay allowed.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

/** Every string under a key ending in `url` / `uri` (server_url, input_image.image_url, …). */
function urlsIn(node: unknown, key = ''): string[] {
  if (typeof node === 'string') return /(url|uri)$/i.test(key) ? [node] : [];
  if (Array.isArray(node)) return node.flatMap((item) => urlsIn(item, key));
  if (typeof node === 'object' && node !== null) return Object.entries(node).flatMap(([name, value]) => urlsIn(value, name));
  return [];
}

/** A self-hosted Responses server: before answering, it connects to each URL of this host the request names (an MCP server, an image). */
class FetchingResponsesServer extends MockOpenAI {
  readonly fetched: string[] = [];

  protected override async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
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
    for (const url of urlsIn(body).filter((value) => value.startsWith('http://127.0.0.1:'))) {
      this.fetched.push(url);
      await fetch(url, { signal: AbortSignal.timeout(1000) }).then((answer) => answer.arrayBuffer()).catch(() => undefined);
    }
    return this.respond(request, response, text);
  }
}

let upstream: FetchingResponsesServer;
let gateway: TestGateway;
let key: string;
/** An internal service (a metadata endpoint, an admin console): records every hit. */
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
  upstream = new FetchingResponsesServer();
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: local-gpt
    litellm_params: { model: openai/gpt-4o-mini, api_base: ${upstream.url}, api_key: sk-local }
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
  health_check_interval: 0
`);
  key = (await new Management(gateway.url).generateKey({ models: ['local-gpt'], max_budget: 10 })).key;
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
  await new Promise<void>((resolve) => decoy?.close(() => resolve()));
});

beforeEach(() => {
  upstream.requests.length = 0;
  upstream.fetched.length = 0;
  hits.length = 0;
});

const post = (body: unknown, apiKey = key) =>
  fetch(`${gateway.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` }, body: JSON.stringify(body) });

const internal = () => `http://127.0.0.1:${decoyPort}/latest/meta-data/iam/security-credentials/`;
const mcpTool = (serverUrl: string) => ({ type: 'mcp', server_label: 'tools', server_url: serverUrl, require_approval: 'never' });

describe('an ordinary key cannot point a relayed built-in tool request at an internal address', () => {
  it('an mcp tool whose server_url is internal is refused with 400 naming the field; nothing is sent or fetched', async () => {
    const response = await post({ model: 'local-gpt', max_output_tokens: 20, input: 'List the tools.', tools: [mcpTool(internal())] });
    const body = (await response.json()) as { error: { message: string; param: string } };
    // Before: 200, the upstream received the server_url and connected to the decoy.
    expect(hits).toEqual([]);
    expect(response.status).toBe(400);
    expect(body.error.param).toBe('tools[0].server_url');
    expect(body.error.message).toMatch(/internal.*llm\.manage_providers/);
    expect(upstream.requests).toEqual([]);
  });

  it('a built-in tool does not let an internal input_image past the check the translated request gets', async () => {
    const response = await post({
      model: 'local-gpt',
      max_output_tokens: 20,
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'What is it?' }, { type: 'input_image', image_url: internal() }] }],
      tools: [{ type: 'computer_use_preview', display_width: 1024, display_height: 768, environment: 'browser' }],
    });
    expect(hits).toEqual([]);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { param: string } }).error.param).toBe('input[0].content[1].image_url');
    expect(upstream.requests).toEqual([]);
  });

  it('metadata and private-range spellings are refused as well', async () => {
    for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://metadata.google.internal/computeMetadata/v1/', 'http://10.0.3.7:8080/mcp', 'http://mcp-server:8000/sse']) {
      const response = await post({ model: 'local-gpt', max_output_tokens: 20, input: 'hi', tools: [mcpTool(url)] });
      expect(response.status, url).toBe(400);
    }
    expect(upstream.requests).toEqual([]);
  });
});

describe('what stays allowed', () => {
  it('a public MCP server reaches the upstream for an ordinary key', async () => {
    const response = await post({ model: 'local-gpt', max_output_tokens: 20, input: 'hi', tools: [mcpTool('https://mcp.example.com/sse')] });
    expect(response.status).toBe(200);
    expect(upstream.requests).toHaveLength(1);
    expect((upstream.requests[0].body.tools as Array<{ server_url: string }>)[0].server_url).toBe('https://mcp.example.com/sse');
  });

  it('an admin key (llm.manage_providers) may name an internal MCP server', async () => {
    const response = await post({ model: 'local-gpt', max_output_tokens: 20, input: 'hi', tools: [mcpTool(internal())] }, MASTER_KEY);
    expect(response.status).toBe(200);
    expect(upstream.fetched).toEqual([internal()]);
    expect(hits).toHaveLength(1);
  });
});
