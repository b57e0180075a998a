/**
 * A local upstream for the media endpoints, in the wire formats of the openai SDK's types and
 * Cohere's API reference:
 * - `POST /v1/images/generations` (ImagesResponse): dall-e-2 / dall-e-3 answer `url`s (or `b64_json`
 *   with response_format b64_json) and no usage; dall-e-3 refuses n ≠ 1 as OpenAI does and adds
 *   `revised_prompt`; gpt-image-1 answers `b64_json` with token `usage`;
 * - `POST /v1/images/edits` (multipart: `image` or `image[]` files, `mask`, `prompt`, `n`, ...):
 *   the same ImagesResponse; dall-e-2 takes one image, gpt-image-1 up to 16 and reports the input
 *   images' tokens in `usage.input_tokens_details.image_tokens`;
 * - `POST /v1/moderations` (ModerationCreateResponse): one result per input, flagged when the text
 *   contains "kill";
 * - `POST /v1/rerank` (Cohere rerank v2): `results` sorted by relevance_score (the share of query
 *   words in the document), cut to top_n, with `meta.billed_units.search_units` by Cohere's pricing rule:
 *   a document longer than 500 tokens with the query is split into chunks, each a document, and a
 *   search unit covers 100 (a token taken as 4 bytes here);
 * - `POST /v1/files` (multipart: `file`, `purpose`; another field is refused as OpenAI does), then
 *   `GET /v1/files`, `GET` / `DELETE /v1/files/{id}`;
 * - `POST /v1/audio/transcriptions` (multipart): json / verbose_json / text answers as whisper-1 gives them;
 * - `POST /v1/audio/speech`: `audio/mpeg` bytes (a fixed pattern, one byte per input character), in chunks;
 * - `POST /v1/chat/completions` (for `/openai/v1/*` relays): a chat.completion with usage;
 * each also at Azure OpenAI's `/openai/deployments/{deployment}/{path}?api-version=…` with `api-key`.
 * The API key (`Authorization: Bearer`) must be the configured one; errors use OpenAI's envelope.
 */
import busboy from 'busboy';
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MockServer } from './mock-server.js';

type Json = Record<string, unknown>;

export interface MediaRequest {
  /** The OpenAI path the request maps to (`/v1/...`), for Azure's deployment URLs too. */
  path: string;
  /** The URL as received (Azure: `/openai/deployments/{deployment}/...?api-version=...`). */
  url: string;
  headers: IncomingMessage['headers'];
  body: Json;
}

/** Seconds of audio as a decoder finds them (see transcription()). */
function decodedSeconds(audio: Buffer): number {
  const compressed = audio.length / 16_000;
  if (audio.length < 12 || audio.toString('ascii', 0, 4) !== 'RIFF' || audio.toString('ascii', 8, 12) !== 'WAVE') return compressed;
  let bytesPerSecond: number | undefined;
  let data = 0;
  for (let offset = 12; offset + 8 <= audio.length; ) {
    const id = audio.toString('ascii', offset, offset + 4);
    const size = audio.readUInt32LE(offset + 4);
    if (id === 'fmt ') {
      const format = audio.readUInt16LE(offset + 8);
      const subformat = format === 0xfffe ? audio.readUInt16LE(offset + 8 + 24) : format;
      if (subformat !== 1 && subformat !== 3) return compressed;
      bytesPerSecond = audio.readUInt32LE(offset + 12) * audio.readUInt16LE(offset + 10) * Math.ceil(audio.readUInt16LE(offset + 22) / 8);
    } else if (id === 'data') {
      const rest = audio.length - offset - 8;
      data += size === 0 || size === 0xffffffff ? rest : Math.min(size, rest);
    }
    offset += 8 + size + (size % 2);
  }
  return bytesPerSecond ? data / bytesPerSecond : compressed;
}

/** Cohere's rule: a chunk holds the query and up to 500 tokens in all; a search unit covers 100 chunks (a token is 4 bytes here). */
function rerankSearchUnits(query: string, documents: unknown[]): number {
  const tokens = (text: string) => Math.ceil(Buffer.byteLength(text) / 4);
  const perChunk = Math.max(1, 500 - tokens(query));
  const chunks = documents.reduce<number>((sum, document) => sum + Math.max(1, Math.ceil(tokens(typeof document === 'string' ? document : JSON.stringify(document)) / perChunk)), 0);
  return Math.ceil(chunks / 100);
}

const CATEGORIES = ['harassment', 'harassment/threatening', 'hate', 'hate/threatening', 'illicit', 'illicit/violent', 'self-harm', 'self-harm/instructions', 'self-harm/intent', 'sexual', 'sexual/minors', 'violence', 'violence/graphic'];

export class MockOpenAIMedia extends MockServer {
  readonly requests: MediaRequest[] = [];
  /** When set, the next speech answer stops after its first chunk until this settles. */
  speechHold: Promise<void> | undefined;
  /** Every speech answer started, with whether the client (the gateway) closed it before it ended. */
  readonly speechAnswers: Array<{ aborted: boolean }> = [];
  /** When set, transcriptions answer plain text whatever `response_format` asks for (an upstream that misbehaves). */
  transcriptionAsText = false;

  /** Files uploaded through `POST /v1/files`, by id. */
  readonly files = new Map<string, Json>();

  constructor(private readonly apiKey: string) {
    super();
  }

  start(): Promise<string> {
    return this.listen('/v1');
  }

  /** Azure OpenAI's `/openai/deployments/{deployment}/{path}?api-version=…` maps to OpenAI's `/v1/{path}`. */
  private pathOf(request: IncomingMessage): string {
    const azure = /^\/openai\/deployments\/[^/?]+(\/[^?]*)\?api-version=[^&]+/.exec(request.url ?? '');
    return azure ? `/v1${azure[1]}` : (request.url ?? '').split('?')[0];
  }

  /** OpenAI's `Authorization: Bearer`, or Azure's `api-key` on a deployment URL. */
  private authorized(request: IncomingMessage): boolean {
    if ((request.url ?? '').startsWith('/openai/deployments/')) return request.headers['api-key'] === this.apiKey && request.headers.authorization === undefined;
    return request.headers.authorization === `Bearer ${this.apiKey}`;
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = this.pathOf(request);
    if (path === '/v1/audio/transcriptions') return this.transcription(request, response);
    if (path === '/v1/images/edits') return this.imageEdits(request, response);
    if (path === '/v1/files' && request.method === 'POST') return this.fileUpload(request, response);
    if (request.method === 'GET' || request.method === 'DELETE') return this.fileResource(request, response, path);
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    let body: Json;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json;
    } catch {
      return this.error(response, 400, 'We could not parse the JSON body of your request.');
    }
    this.requests.push({ path, url: request.url ?? '', headers: request.headers, body });
    if (!this.authorized(request)) return this.error(response, 401, 'Incorrect API key provided.', 'invalid_api_key');
    switch (path) {
      case '/v1/images/generations':
        return this.images(body, response);
      case '/v1/moderations':
        return this.json(response, this.moderation(body));
      case '/v1/rerank':
        return this.rerank(body, response);
      case '/v1/audio/speech':
        return this.speech(body, response);
      case '/v1/chat/completions':
        return this.json(response, {
          id: `chatcmpl-${randomBytes(6).toString('hex')}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: body.model,
          choices: [{ index: 0, message: { role: 'assistant', content: 'relayed', refusal: null }, finish_reason: 'stop', logprobs: null }],
          usage: { prompt_tokens: 20, completion_tokens: 10, total_tokens: 30 },
        });
      default:
        return this.error(response, 404, `Invalid URL (POST ${path})`);
    }
  }

  /** Files as OpenAI keeps them: `GET /v1/files` (list), `GET` and `DELETE /v1/files/{id}`, for the uploads this mock received. */
  private fileResource(request: IncomingMessage, response: ServerResponse, path: string): void {
    this.requests.push({ path, url: request.url ?? '', headers: request.headers, body: {} });
    if (!this.authorized(request)) return this.error(response, 401, 'Incorrect API key provided.', 'invalid_api_key');
    if (request.method === 'GET' && path === '/v1/files') return this.json(response, { object: 'list', data: [...this.files.values()], has_more: false });
    const id = /^\/v1\/files\/([^/]+)$/.exec(path)?.[1];
    const file = id ? this.files.get(id) : undefined;
    if (!file) return this.error(response, 404, `No such File object: ${id ?? path}`, null, 'id');
    if (request.method === 'DELETE') {
      this.files.delete(file.id as string);
      return this.json(response, { id: file.id, object: 'file', deleted: true });
    }
    return this.json(response, file);
  }

  /** `POST /v1/files` (multipart: `file`, `purpose`): the File object. */
  private async fileUpload(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const fields: Json = {};
    let upload: { filename: string; bytes: Buffer[] } | undefined;
    await new Promise<void>((resolve, reject) => {
      const parser = busboy({ headers: request.headers });
      parser.on('field', (name, value) => (fields[name] = value));
      parser.on('file', (_name, stream, info) => {
        const file = { filename: info.filename ?? '', bytes: [] as Buffer[] };
        upload = file;
        stream.on('data', (chunk: Buffer) => file.bytes.push(chunk));
      });
      parser.on('close', resolve);
      parser.on('error', reject);
      request.pipe(parser);
    });
    const bytes = upload ? Buffer.concat(upload.bytes) : Buffer.alloc(0);
    this.requests.push({ path: '/v1/files', url: request.url ?? '', headers: request.headers, body: { ...fields, file: upload ? { filename: upload.filename, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') } : null } });
    if (!this.authorized(request)) return this.error(response, 401, 'Incorrect API key provided.', 'invalid_api_key');
    if (!upload) return this.error(response, 400, "Missing required parameter: 'file'.", null, 'file');
    if (typeof fields.purpose !== 'string') return this.error(response, 400, "Missing required parameter: 'purpose'.", null, 'purpose');
    const unknown = Object.keys(fields).find((name) => name !== 'purpose' && name !== 'expires_after');
    if (unknown) return this.error(response, 400, `Unrecognized request argument supplied: ${unknown}`, null, unknown);
    const file = { id: `file-${randomBytes(8).toString('hex')}`, object: 'file', bytes: bytes.length, created_at: Math.floor(Date.now() / 1000), filename: upload.filename, purpose: fields.purpose, status: 'processed' };
    this.files.set(file.id, file);
    return this.json(response, file);
  }

  private async imageEdits(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const fields: Json = {};
    const files: Array<{ field: string; filename: string; type: string; bytes: Buffer[] }> = [];
    await new Promise<void>((resolve, reject) => {
      const parser = busboy({ headers: request.headers, limits: { files: 32 } });
      parser.on('field', (name, value) => (fields[name] = value));
      parser.on('file', (name, stream, info) => {
        const file = { field: name, filename: info.filename ?? '', type: info.mimeType, bytes: [] as Buffer[] };
        files.push(file);
        stream.on('data', (chunk: Buffer) => file.bytes.push(chunk));
      });
      parser.on('close', resolve);
      parser.on('error', reject);
      request.pipe(parser);
    });
    const described = files.map((file) => {
      const bytes = Buffer.concat(file.bytes);
      return { field: file.field, filename: file.filename, type: file.type, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
    });
    this.requests.push({ path: '/v1/images/edits', url: request.url ?? '', headers: request.headers, body: { ...fields, files: described } });
    if (!this.authorized(request)) return this.error(response, 401, 'Incorrect API key provided.', 'invalid_api_key');
    const images = described.filter((file) => file.field === 'image' || file.field === 'image[]');
    if (images.length === 0) return this.error(response, 400, "Missing required parameter: 'image'.", 'missing_required_parameter', 'image');
    const model = String(fields.model ?? 'dall-e-2');
    if (model === 'dall-e-2' && images.length > 1) return this.error(response, 400, 'dall-e-2 takes one image to edit.', 'invalid_value', 'image');
    if (model === 'dall-e-3') return this.error(response, 400, 'Invalid model dall-e-3. The model must be dall-e-2 or gpt-image-1.', 'invalid_value', 'model');
    const n = fields.n === undefined ? 1 : Number(fields.n);
    if (model === 'gpt-image-1') {
      const imageTokens = 323 * images.length;
      return this.json(response, {
        created: Math.floor(Date.now() / 1000),
        data: Array.from({ length: n }, () => ({ b64_json: randomBytes(24).toString('base64') })),
        usage: { input_tokens: 20 + imageTokens, output_tokens: 1056 * n, total_tokens: 20 + imageTokens + 1056 * n, input_tokens_details: { text_tokens: 20, image_tokens: imageTokens } },
      });
    }
    return this.images({ ...fields, n }, response);
  }

  private images(body: Json, response: ServerResponse): void {
    const model = String(body.model ?? 'dall-e-2');
    if (typeof body.prompt !== 'string' || body.prompt === '') return this.error(response, 400, "Missing required parameter: 'prompt'.", 'missing_required_parameter', 'prompt');
    const n = typeof body.n === 'number' ? body.n : 1;
    if (model === 'dall-e-3' && n !== 1) return this.error(response, 400, 'You must provide n=1 for this model.', 'invalid_value', 'n');
    const created = Math.floor(Date.now() / 1000);
    const image = () => randomBytes(24).toString('base64');
    if (model === 'gpt-image-1') {
      return this.json(response, {
        created,
        data: Array.from({ length: n }, () => ({ b64_json: image() })),
        background: 'opaque',
        output_format: 'png',
        quality: 'medium',
        size: '1024x1024',
        usage: { input_tokens: 50, output_tokens: 1056 * n, total_tokens: 50 + 1056 * n, input_tokens_details: { text_tokens: 50, image_tokens: 0 } },
      });
    }
    const b64 = body.response_format === 'b64_json';
    return this.json(response, {
      created,
      data: Array.from({ length: n }, (_, index) => ({
        ...(b64 ? { b64_json: image() } : { url: `https://images.example.com/${created}-${index}.png` }),
        ...(model === 'dall-e-3' ? { revised_prompt: `A detailed picture of ${String(body.prompt)}` } : {}),
      })),
    });
  }

  private moderation(body: Json): Json {
    const inputs = Array.isArray(body.input) ? body.input : [body.input];
    return {
      id: `modr-${randomBytes(6).toString('hex')}`,
      model: body.model ?? 'omni-moderation-latest',
      results: inputs.map((input) => {
        const text = typeof input === 'string' ? input : '';
        const violent = /kill/i.test(text);
        return {
          flagged: violent,
          categories: Object.fromEntries(CATEGORIES.map((name) => [name, violent && name === 'violence'])),
          category_scores: Object.fromEntries(CATEGORIES.map((name) => [name, violent && name === 'violence' ? 0.91 : 0.0001])),
          category_applied_input_types: Object.fromEntries(CATEGORIES.map((name) => [name, ['text']])),
        };
      }),
    };
  }

  private rerank(body: Json, response: ServerResponse): void {
    if (typeof body.query !== 'string') return this.error(response, 400, 'invalid request: query must be a string');
    if (!Array.isArray(body.documents) || body.documents.length === 0) return this.error(response, 400, 'invalid request: documents must be a non-empty list');
    const words = body.query.toLowerCase().split(/\W+/).filter(Boolean);
    const scored = (body.documents as unknown[]).map((document, index) => {
      const text = (typeof document === 'string' ? document : String((document as { text?: unknown })?.text ?? '')).toLowerCase();
      const hits = words.filter((word) => text.includes(word)).length;
      return { index, relevance_score: words.length === 0 ? 0 : hits / words.length };
    });
    scored.sort((a, b) => b.relevance_score - a.relevance_score);
    const topN = typeof body.top_n === 'number' ? body.top_n : scored.length;
    return this.json(response, {
      id: randomBytes(8).toString('hex'),
      results: scored.slice(0, topN),
      meta: { api_version: { version: '2' }, billed_units: { search_units: rerankSearchUnits(body.query, body.documents as unknown[]) } },
    });
  }

  /**
   * A transcription (multipart: `file`, `model`, `response_format`, ...): json answers
   * `{text, usage: {type: "duration", seconds}}` (seconds rounded up, as whisper-1 reports them),
   * verbose_json adds `task`, `language`, `duration` and `segments`; text, srt and vtt answer text.
   * The duration is what a decoder (ffmpeg's wavdec) plays: a PCM / float WAV's every `data` chunk
   * over sample rate × channels × bytes per sample, its `byteRate` field ignored; other files
   * (compressed WAVs too) count as one second per 16 KB. The last value of a repeated field wins, as
   * in Starlette's form parser.
   */
  private async transcription(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const fields: Json = {};
    const file: { name?: string; type?: string; bytes: Buffer[] } = { bytes: [] };
    await new Promise<void>((resolve, reject) => {
      const parser = busboy({ headers: request.headers });
      parser.on('field', (name, value) => (fields[name] = value));
      parser.on('file', (_name, stream, info) => {
        file.name = info.filename;
        file.type = info.mimeType;
        stream.on('data', (chunk: Buffer) => file.bytes.push(chunk));
      });
      parser.on('close', resolve);
      parser.on('error', reject);
      request.pipe(parser);
    });
    const audio = Buffer.concat(file.bytes);
    this.requests.push({ path: '/v1/audio/transcriptions', url: request.url ?? '', headers: request.headers, body: { ...fields, file: { filename: file.name, type: file.type, size: audio.length, sha256: createHash('sha256').update(audio).digest('hex') } } });
    if (!this.authorized(request)) return this.error(response, 401, 'Incorrect API key provided.', 'invalid_api_key');
    if (audio.length === 0) return this.error(response, 400, "Missing required parameter: 'file'.", 'missing_required_parameter', 'file');
    const duration = decodedSeconds(audio);
    const text = 'Hello from the mock transcription.';
    const format = this.transcriptionAsText ? 'text' : String(fields.response_format ?? 'json');
    if (format === 'text') {
      response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      response.end(`${text}\n`);
      return;
    }
    const usage = { type: 'duration', seconds: Math.ceil(duration) };
    if (format === 'verbose_json') return this.json(response, { task: 'transcribe', language: 'english', duration, text, segments: [{ id: 0, seek: 0, start: 0, end: duration, text, tokens: [50364, 2425], temperature: 0, avg_logprob: -0.2, compression_ratio: 1, no_speech_prob: 0.01 }], usage });
    return this.json(response, { text, usage });
  }

  private async speech(body: Json, response: ServerResponse): Promise<void> {
    if (typeof body.input !== 'string' || typeof body.voice !== 'string') return this.error(response, 400, "Missing required parameter: 'input' or 'voice'.");
    const audio = Buffer.alloc(body.input.length, 0xab);
    const answer = { aborted: false };
    this.speechAnswers.push(answer);
    response.on('close', () => {
      if (!response.writableFinished) answer.aborted = true;
    });
    response.writeHead(200, { 'content-type': body.response_format === 'wav' ? 'audio/wav' : 'audio/mpeg', 'transfer-encoding': 'chunked' });
    const hold = this.speechHold;
    this.speechHold = undefined;
    for (let offset = 0; offset < audio.length; offset += 7) {
      response.write(audio.subarray(offset, offset + 7));
      // Held after the first chunk: what the client gets meanwhile was streamed, not buffered.
      if (offset === 0 && hold) await hold;
      if (response.destroyed) return;
    }
    response.end();
  }

  private json(response: ServerResponse, value: unknown): void {
    const text = `${JSON.stringify(value)}\n`;
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    response.end(text);
  }

  private error(response: ServerResponse, status: number, message: string, code: string | null = null, param: string | null = null): void {
    const text = JSON.stringify({ error: { message, type: 'invalid_request_error', param, code } });
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(text);
  }
}
