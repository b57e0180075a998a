/**
 * A local Google Cloud for Vertex AI, speaking what the real services do:
 * - an OAuth 2.0 token endpoint (`POST /token`, the service account's `token_uri`) taking the
 *   JWT-bearer grant (RFC 7523) as Google's does: the assertion's RS256 signature is verified with
 *   the service account's public key, its `iss`, `scope`, `aud`, `iat`/`exp` checked; the answer is
 *   `{"access_token","expires_in","token_type":"Bearer"}`, a failure `{"error":"invalid_grant",…}`;
 * - `POST /v1/projects/{project}/locations/{location}/publishers/google/models/{model}:generateContent`
 *   and `:streamGenerateContent?alt=sse` (also under /v1beta1): bearer token required (401
 *   UNAUTHENTICATED otherwise), project checked (403 PERMISSION_DENIED); the GenerateContent body is
 *   answered by the Gemini mock (which parses it like protobuf), since Vertex speaks the same messages;
 * - `…/publishers/google/models/imagen-…:predict` → Imagen images (mock-imagen.ts);
 * - `GET /v1/publishers/google/models/{model}` (publishers.models.get, bearer token required);
 * - `…/publishers/google/models/{embedding model}:predict` → `predictions[].embeddings.values` with
 *   `statistics.token_count`;
 * - `…/publishers/anthropic/models/{model}:rawPredict` and `:streamRawPredict`: the body must carry
 *   `anthropic_version: "vertex-2023-10-16"` and no `model` (the model is the URL's); the Messages
 *   body is answered by the Anthropic mock.
 * - `POST /v1/projects/{project}/locations/{location}/endpoints/openapi/chat/completions`: the partner
 *   models' OpenAI-compatible endpoint (bearer token required); answered by the OpenAI mock.
 * Google-envelope faults are scripted per model call. Every call and token grant is recorded.
 */
import { generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MockAnthropic, type MockAnthropicOptions } from './mock-anthropic.js';
import { MockGemini, type MockGeminiOptions } from './mock-gemini.js';
import { MockOpenAI, type MockOpenAIOptions } from './mock-openai.js';
import { imagenPredict } from './mock-imagen.js';
import { MockServer } from './mock-server.js';

type Json = Record<string, unknown>;

export const GOOGLE_TOKEN_AUDIENCE = 'https://oauth2.googleapis.com/token';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const GEMINI_KEY = 'vertex-internal-gemini-key';
const ANTHROPIC_KEY = 'vertex-internal-anthropic-key';

export interface VertexRecordedRequest {
  url: string;
  version: string;
  project: string;
  location: string;
  publisher: string;
  model: string;
  action: string;
  headers: IncomingMessage['headers'];
  body: Json;
}

export interface TokenGrant {
  claims: Json;
  token: string;
}

export interface MockVertexOptions {
  project?: string;
  /** Lifetime of issued access tokens; default 3600 s, as Google's. */
  tokenLifetimeSeconds?: number;
  gemini?: MockGeminiOptions;
  anthropic?: MockAnthropicOptions;
  openapi?: MockOpenAIOptions;
}

export class MockVertex extends MockServer {
  readonly requests: VertexRecordedRequest[] = [];
  readonly grants: TokenGrant[] = [];
  /** Google-envelope errors for the next model calls, in order. */
  readonly faults: Array<{ status: number; googleStatus: string; message: string }> = [];
  readonly gemini: MockGemini;
  readonly anthropic: MockAnthropic;
  /** Answers the partner models' OpenAI-compatible endpoint. */
  readonly openapi: MockOpenAI;
  readonly project: string;
  readonly clientEmail = 'switchboard-test@mock-project.iam.gserviceaccount.com';
  private readonly privateKeyPem: string;
  private readonly publicKey: KeyObject;
  private readonly issued = new Map<string, number>();

  constructor(readonly options: MockVertexOptions = {}) {
    super();
    this.project = options.project ?? 'mock-project';
    this.gemini = new MockGemini({ ...options.gemini, apiKey: GEMINI_KEY });
    this.anthropic = new MockAnthropic({ ...options.anthropic, apiKey: ANTHROPIC_KEY });
    this.openapi = new MockOpenAI(options.openapi);
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    this.publicKey = publicKey;
  }

  async start(): Promise<string> {
    await this.gemini.start();
    await this.anthropic.start();
    await this.openapi.start();
    return this.listen('');
  }

  override async close(): Promise<void> {
    await Promise.all([super.close(), this.gemini.close(), this.anthropic.close(), this.openapi.close()]);
  }

  /** A service-account key file's content, as the Cloud console downloads it, whose token_uri is this mock. */
  serviceAccount(overrides: Json = {}): Json {
    return {
      type: 'service_account',
      project_id: this.project,
      private_key_id: 'mock-key-1',
      private_key: this.privateKeyPem,
      client_email: this.clientEmail,
      client_id: '100000000000000000001',
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: `${this.url}/token`,
      auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
      universe_domain: 'googleapis.com',
      ...overrides,
    };
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(request.url ?? '/', 'http://mock');
    if (request.method === 'POST' && url.pathname === '/token') return this.token(text, response);
    const openapi = /^\/(v1|v1beta1)\/projects\/([^/]+)\/locations\/([^/]+)\/endpoints\/openapi\/chat\/completions$/.exec(url.pathname);
    if (request.method === 'POST' && openapi) return this.openApiChat(request, response, openapi[1], decodeURIComponent(openapi[2]), openapi[3], text);
    const publisherModel = /^\/(v1|v1beta1)\/publishers\/google\/models\/([^/:]+)$/.exec(url.pathname);
    if (request.method === 'GET' && publisherModel) return this.publisherModel(request, response, publisherModel[1], decodeURIComponent(publisherModel[2]));
    const route = /^\/(v1|v1beta1)\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/([^/]+)\/models\/([^/:]+):([A-Za-z]+)$/.exec(url.pathname);
    if (request.method !== 'POST' || !route) return googleError(response, 404, 'NOT_FOUND', `The requested URL ${url.pathname} was not found on this server.`);
    const [, version, project, location, publisher, model, action] = route;
    let body: Json = {};
    try {
      body = text ? (JSON.parse(text) as Json) : {};
    } catch {
      return googleError(response, 400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
    }
    this.requests.push({ url: request.url ?? '/', version, project: decodeURIComponent(project), location, publisher, model: decodeURIComponent(model), action, headers: request.headers, body });

    const bearer = /^Bearer (.+)$/.exec(String(request.headers.authorization ?? ''))?.[1];
    const expiresAt = bearer ? this.issued.get(bearer) : undefined;
    if (expiresAt === undefined || expiresAt <= Date.now()) {
      return googleError(response, 401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.');
    }
    if (decodeURIComponent(project) !== this.project) return googleError(response, 403, 'PERMISSION_DENIED', `Permission 'aiplatform.endpoints.predict' denied on resource '//aiplatform.googleapis.com/projects/${project}/locations/${location}/publishers/${publisher}/models/${model}' (or it may not exist).`);
    const fault = this.faults.shift();
    if (fault) return googleError(response, fault.status, fault.googleStatus, fault.message);

    const modelName = decodeURIComponent(model);
    if (publisher === 'google' && (action === 'generateContent' || action === 'streamGenerateContent')) {
      return forward(response, `${this.gemini.url}/v1beta/models/${encodeURIComponent(modelName)}:${action}${url.search}`, { 'x-goog-api-key': GEMINI_KEY }, text);
    }
    if (publisher === 'google' && action === 'predict' && modelName.startsWith('imagen-')) {
      const answer = imagenPredict(body, 'vertex');
      return sendJson(response, answer.status, answer.body);
    }
    if (publisher === 'google' && action === 'predict') return this.predict(body, response);
    if (publisher === 'google' && action === 'countTokens') return this.countTokens(body, modelName, response);
    if (publisher === 'anthropic' && (action === 'rawPredict' || action === 'streamRawPredict')) {
      if (body.anthropic_version !== 'vertex-2023-10-16') {
        return anthropicError(response, 400, `anthropic_version: Input should be 'vertex-2023-10-16'`);
      }
      if ('model' in body) return anthropicError(response, 400, 'model: Extra inputs are not permitted');
      const { anthropic_version: _version, ...messages } = body;
      return forward(response, `${this.anthropic.url}/v1/messages`, { 'x-api-key': ANTHROPIC_KEY, 'anthropic-version': '2023-06-01' }, JSON.stringify({ model: modelName, ...messages }));
    }
    return googleError(response, 400, 'FAILED_PRECONDITION', `Publisher model ${publisher}/${modelName} does not support ${action}.`);
  }

  private async openApiChat(request: IncomingMessage, response: ServerResponse, version: string, project: string, location: string, text: string): Promise<void> {
    let body: Json = {};
    try {
      body = JSON.parse(text) as Json;
    } catch {
      return googleError(response, 400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
    }
    this.requests.push({ url: request.url ?? '/', version, project, location, publisher: 'openapi', model: String(body.model), action: 'chat/completions', headers: request.headers, body });
    const bearer = /^Bearer (.+)$/.exec(String(request.headers.authorization ?? ''))?.[1];
    const expiresAt = bearer ? this.issued.get(bearer) : undefined;
    if (expiresAt === undefined || expiresAt <= Date.now()) return googleError(response, 401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.');
    if (project !== this.project) return googleError(response, 403, 'PERMISSION_DENIED', `Permission denied on resource project ${project}.`);
    if (!/^[a-z0-9-]+\/[^/]+-maas$/.test(String(body.model))) return googleError(response, 400, 'INVALID_ARGUMENT', `Model ${String(body.model)} is not a model-as-a-service model of this endpoint.`);
    const fault = this.faults.shift();
    if (fault) return googleError(response, fault.status, fault.googleStatus, fault.message);
    return forward(response, `${this.openapi.url}/chat/completions`, { authorization: 'Bearer vertex-internal-openapi-key' }, text);
  }

  /** publishers.models.get: Google's model in the Model Garden, for any valid token. */
  private publisherModel(request: IncomingMessage, response: ServerResponse, version: string, model: string): void {
    this.requests.push({ url: request.url ?? '/', version, project: '', location: '', publisher: 'google', model, action: 'get', headers: request.headers, body: {} });
    const bearer = /^Bearer (.+)$/.exec(String(request.headers.authorization ?? ''))?.[1];
    const expiresAt = bearer ? this.issued.get(bearer) : undefined;
    if (expiresAt === undefined || expiresAt <= Date.now()) return googleError(response, 401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.');
    sendJson(response, 200, { name: `publishers/google/models/${model}`, versionId: '001', openSourceCategory: 'PROPRIETARY', launchStage: 'GA', publisherModelTemplate: `projects/{project}/locations/{location}/publishers/google/models/${model}@001` });
  }

  private token(text: string, response: ServerResponse): void {
    const form = new URLSearchParams(text);
    if (form.get('grant_type') !== JWT_BEARER) return oauthError(response, 'unsupported_grant_type', 'Invalid grant_type: ' + String(form.get('grant_type')));
    const parts = (form.get('assertion') ?? '').split('.');
    if (parts.length !== 3) return oauthError(response, 'invalid_grant', 'Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.');
    const [header, payload, signature] = parts;
    let claims: Json;
    let alg: unknown;
    try {
      alg = (JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as Json).alg;
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Json;
    } catch {
      return oauthError(response, 'invalid_grant', 'Invalid JWT: not decodable');
    }
    const signed = alg === 'RS256' && verify('RSA-SHA256', Buffer.from(`${header}.${payload}`), this.publicKey, Buffer.from(signature, 'base64url'));
    if (!signed) return oauthError(response, 'invalid_grant', 'Invalid JWT Signature.');
    const now = Math.floor(Date.now() / 1000);
    if (claims.iss !== this.clientEmail) return oauthError(response, 'invalid_grant', 'Invalid issuer');
    if (claims.aud !== GOOGLE_TOKEN_AUDIENCE && claims.aud !== `${this.url}/token`) return oauthError(response, 'invalid_grant', 'Invalid JWT: audience');
    if (typeof claims.iat !== 'number' || typeof claims.exp !== 'number' || claims.iat > now + 60 || claims.exp <= now || claims.exp - claims.iat > 3600) {
      return oauthError(response, 'invalid_grant', 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.');
    }
    if (!String(claims.scope ?? '').split(' ').includes('https://www.googleapis.com/auth/cloud-platform')) return oauthError(response, 'invalid_scope', 'Invalid OAuth scope or ID token audience provided.');
    const lifetime = this.options.tokenLifetimeSeconds ?? 3600;
    const token = `ya29.mock-${this.grants.length + 1}`;
    this.issued.set(token, Date.now() + lifetime * 1000);
    this.grants.push({ claims, token });
    sendJson(response, 200, { access_token: token, expires_in: lifetime, token_type: 'Bearer' });
  }

  /**
   * countTokens (CountTokensRequest: `contents`, `systemInstruction`, `tools`, `generationConfig`;
   * an unknown field is refused as Google's parser does) → `{totalTokens, totalBillableCharacters}`:
   * a token per word of the text parts, characters without spaces.
   */
  private countTokens(body: Json, model: string, response: ServerResponse): void {
    for (const name of Object.keys(body)) {
      if (!['contents', 'systemInstruction', 'tools', 'generationConfig', 'instances', 'model'].includes(name)) return googleError(response, 400, 'INVALID_ARGUMENT', `Invalid JSON payload received. Unknown name "${name}": Cannot find field.`);
    }
    if (/embedding/.test(model)) return googleError(response, 400, 'FAILED_PRECONDITION', `Publisher model google/${model} does not support countTokens.`);
    const texts: string[] = [];
    const collect = (content: unknown) => {
      const parts = (content as { parts?: unknown } | null)?.parts;
      if (Array.isArray(parts)) for (const part of parts) if (typeof (part as Json)?.text === 'string') texts.push((part as Json).text as string);
    };
    if (Array.isArray(body.contents)) body.contents.forEach(collect);
    collect(body.systemInstruction);
    const words = texts.join(' ').split(/\s+/).filter(Boolean);
    sendJson(response, 200, { totalTokens: words.length, totalBillableCharacters: words.join('').length, promptTokensDetails: [{ modality: 'TEXT', tokenCount: words.length }] });
  }

  private predict(body: Json, response: ServerResponse): void {
    const instances = Array.isArray(body.instances) ? (body.instances as Json[]) : undefined;
    if (!instances || instances.length === 0) return googleError(response, 400, 'INVALID_ARGUMENT', 'instances must be a non-empty list');
    const dimensions = typeof (body.parameters as Json | undefined)?.outputDimensionality === 'number' ? ((body.parameters as Json).outputDimensionality as number) : 8;
    const predictions = instances.map((instance) => {
      const content = String(instance.content ?? '');
      return {
        embeddings: {
          statistics: { truncated: false, token_count: content.split(/\s+/).filter(Boolean).length },
          values: Array.from({ length: dimensions }, (_, index) => Number(((content.length + index) / 100).toFixed(4))),
        },
      };
    });
    sendJson(response, 200, { predictions, metadata: { billableCharacterCount: instances.reduce((sum, item) => sum + String(item.content ?? '').length, 0) } });
  }
}

async function forward(response: ServerResponse, url: string, headers: Record<string, string>, body: string): Promise<void> {
  const upstream = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  response.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
  const reader = upstream.body?.getReader();
  for (let read = await reader?.read(); read && !read.done; read = await reader!.read()) response.write(read.value);
  response.end();
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
  response.end(JSON.stringify(value));
}

function googleError(response: ServerResponse, status: number, googleStatus: string, message: string): void {
  sendJson(response, status, { error: { code: status, message, status: googleStatus } });
}

function anthropicError(response: ServerResponse, status: number, message: string): void {
  sendJson(response, status, { type: 'error', error: { type: 'invalid_request_error', message } });
}

function oauthError(response: ServerResponse, error: string, description: string): void {
  sendJson(response, 400, { error, error_description: description });
}
