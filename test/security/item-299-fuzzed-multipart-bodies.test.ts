/**
 * A seeded, bounded fuzzer over the multipart/form-data surfaces (item 298 does the JSON ones):
 * /v1/audio/transcriptions and /v1/images/edits, their /openai/v1 relays, and the modelless
 * multipart relay (/openai/v1/files). (/v1/audio/translations is not served; /openai/v1/images/
 * variations is read by the same reader, but the mock upstream does not answer it: it is fuzzed
 * for refusals only.) Each case is written as raw bytes on a socket, starting from a valid
 * form: a field or the file left out, sent twice or empty; the wrong Content-Type (JSON, text, no
 * boundary, an empty boundary, a 100-character one); a file part without a filename or a
 * Content-Type; filenames with `/`, `\`, `..`, NUL, CR/LF or 5,000 characters; `temperature`
 * "NaN", `n` 1e9 or "1e400"; unicode and empty field names; the boundary inside the data, LF line
 * endings instead of CRLF, no final boundary, a preamble and an epilogue, RFC 5987 `filename*`
 * and `name*`; a Content-Length shorter or longer than the body; the client closing mid-upload; a
 * file over the endpoint's limit.
 *
 * The property: every answer is 200 or a well-formed OpenAI JSON error with a 4xx status (413
 * for a file over the limit), never a 5xx, never a hang (each request has a deadline), no
 * error-level log line, no unhandled rejection; and a body the gateway refuses (or that never
 * arrives whole) never reaches the upstream mock. Seeds are fixed (299_000 + i); ~25 s.
 *
 * Against the code as it was, the fuzzer found 2 distinct failures, on every multipart route:
 *  1. A form cut short inside its file part (its final boundary missing) made busboy destroy the file's stream with "Unexpected end of form"; the reader had
 *     no 'error' listener on that stream, so the error was uncaught — outside a test runner it ends
 *     the gateway's process: one request from any key with llm.execute took the gateway down.
 *  2. A filename with a control character, sent as RFC 5987 `filename*=UTF-8''a%00b.wav` (busboy
 *     decodes it), was written back raw into the upstream form's part header, which the upstream's
 *     parser refuses as malformed: the mock never answered, so the client got no answer at all.
 * Now the file stream's error is a 400 (the parse error named), and a field or file name holding a
 * control character is a 400 naming the field, both before any upstream call. Nothing else failed:
 * no other 5xx, hang, error log line or upstream call for a refused or truncated body.
 */
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockOpenAIMedia } from '../support/mock-openai-media.js';
import { wav } from '../support/model-surfaces.js';
import { seededRandom } from '../support/random.js';

const UPSTREAM_KEY = 'sk-media-upstream';
const upstream = new MockOpenAIMedia(UPSTREAM_KEY);
let gateway: TestGateway;
const errorLines: string[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

interface Part {
  name: string;
  data: Buffer;
  filename?: string;
  contentType?: string;
  /** Extra header lines of the part, written as is. */
  extra?: string[];
  /** The Content-Disposition line written as is. */
  disposition?: string;
}

interface Target {
  name: string;
  path: string;
  parts: Part[];
  /** Whether the base form answers 200 (the mock does not serve variations). */
  answers: boolean;
  /** The largest file the endpoint takes. */
  maxFileBytes: number;
  fileField: string;
  headers?: Record<string, string>;
}

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');

function text(name: string, value: string): Part {
  return { name, data: Buffer.from(value) };
}

function makeTargets(wavBytes: Buffer): Target[] {
  const transcription = (path: string): Target => ({ name: `transcription ${path}`, path, answers: true, maxFileBytes: 25 * 1024 * 1024, fileField: 'file', parts: [text('model', 'whisper-1'), text('response_format', 'json'), text('temperature', '0.2'), text('language', 'en'), { name: 'file', data: wavBytes, filename: 'tone.wav', contentType: 'audio/wav' }] });
  const edits = (path: string): Target => ({ name: `edits ${path}`, path, answers: true, maxFileBytes: 50 * 1024 * 1024, fileField: 'image', parts: [text('model', 'dall-e-2'), text('prompt', 'a hat'), text('n', '1'), text('size', '256x256'), { name: 'image', data: PNG, filename: 'cat.png', contentType: 'image/png' }] });
  return [
    transcription('/v1/audio/transcriptions'),
    transcription('/openai/v1/audio/transcriptions'),
    edits('/v1/images/edits'),
    edits('/openai/v1/images/edits'),
    { name: 'variations /openai/v1/images/variations', path: '/openai/v1/images/variations', answers: false, maxFileBytes: 50 * 1024 * 1024, fileField: 'image', parts: [text('model', 'dall-e-2'), text('n', '1'), { name: 'image', data: PNG, filename: 'cat.png', contentType: 'image/png' }] },
    { name: 'files /openai/v1/files', path: '/openai/v1/files', answers: true, maxFileBytes: 64 * 1024 * 1024, fileField: 'file', headers: { 'x-switchboard-model': 'whisper-1' }, parts: [text('purpose', 'batch'), { name: 'file', data: Buffer.from('{"custom_id":"1"}\n'), filename: 'batch.jsonl', contentType: 'application/jsonl' }] },
  ];
}

interface Form {
  parts: Part[];
  boundary: string;
  eol?: string;
  /** Leave out the closing `--boundary--`. */
  noFinal?: boolean;
  preamble?: string;
  epilogue?: string;
}

function encode(form: Form): Buffer {
  const eol = form.eol ?? '\r\n';
  const chunks: Buffer[] = [];
  if (form.preamble) chunks.push(Buffer.from(form.preamble + eol));
  for (const part of form.parts) {
    const disposition = part.disposition ?? `Content-Disposition: form-data; name="${part.name}"${part.filename === undefined ? '' : `; filename="${part.filename}"`}`;
    const lines = [`--${form.boundary}`, disposition];
    if (part.contentType) lines.push(`Content-Type: ${part.contentType}`);
    if (part.extra) lines.push(...part.extra);
    chunks.push(Buffer.from(lines.join(eol) + eol + eol, 'utf8'), part.data, Buffer.from(eol));
  }
  if (!form.noFinal) chunks.push(Buffer.from(`--${form.boundary}--${eol}`));
  if (form.epilogue) chunks.push(Buffer.from(form.epilogue));
  return Buffer.concat(chunks);
}

interface Case {
  target: Target;
  label: string;
  body: Buffer;
  contentType: string;
  /** Content-Length as sent (the body's length unless it lies). */
  contentLength?: number;
  /** The client closes the connection after this many bytes of the body. */
  closeAfter?: number;
  /** The gateway must refuse it without calling the upstream. */
  refused?: boolean;
  /** The status the answer must have. */
  status?: number;
}

const BOUNDARY = '----switchboardFuzz299';

function mutatedParts(target: Target, random: () => number): Array<{ label: string; parts: Part[]; refused?: boolean; status?: number }> {
  const base = target.parts;
  const fileIndex = base.findIndex((part) => part.filename !== undefined);
  const withFile = (change: Partial<Part>) => base.map((part, index) => (index === fileIndex ? { ...part, ...change } : part));
  const out: Array<{ label: string; parts: Part[]; refused?: boolean; status?: number }> = [];
  for (const [index, part] of base.entries()) {
    out.push({ label: `without ${part.name}`, parts: base.filter((_, i) => i !== index) });
    out.push({ label: `${part.name} twice`, parts: [...base, part] });
    out.push({ label: `${part.name} empty`, parts: base.map((p, i) => (i === index ? { ...p, data: Buffer.alloc(0) } : p)) });
    out.push({ label: `${part.name} as a file`, parts: base.map((p, i) => (i === index ? { ...p, filename: p.filename ?? 'x.txt', contentType: 'text/plain' } : p)) });
    out.push({ label: `${part.name} renamed to a unicode name`, parts: base.map((p, i) => (i === index ? { ...p, name: `${p.name}\u202e𝔘é` } : p)) });
  }
  for (const filename of ['', '../../etc/passwd', 'a/b/c.wav', 'C:\\x\\y.wav', 'nul\u0000byte.wav', 'x'.repeat(5_000), '\u202e𝔘.wav', 'a"b.wav', 'line\r\nbreak.wav']) {
    out.push({ label: `filename ${JSON.stringify(filename.slice(0, 20))}`, parts: withFile({ filename }) });
  }
  out.push({ label: 'file part without filename', parts: withFile({ filename: undefined, disposition: `Content-Disposition: form-data; name="${target.fileField}"` }) });
  out.push({ label: 'file part without Content-Type', parts: withFile({ contentType: undefined }) });
  out.push({ label: 'file part of a strange Content-Type', parts: withFile({ contentType: 'multipart/mixed; boundary=x' }) });
  out.push({ label: 'file part with filename* holding NUL', parts: withFile({ disposition: `Content-Disposition: form-data; name="${target.fileField}"; filename*=UTF-8''%E2%80%AE%00.wav` }), refused: true, status: 400 });
  out.push({ label: 'file part with filename* holding CR LF', parts: withFile({ disposition: `Content-Disposition: form-data; name="${target.fileField}"; filename*=UTF-8''a%0D%0AX-Injected%3A%201.wav` }), refused: true, status: 400 });
  out.push({ label: 'file part with filename* in UTF-8', parts: withFile({ disposition: `Content-Disposition: form-data; name="${target.fileField}"; filename*=UTF-8''%E2%80%AE%F0%9D%94%98.wav` }) });
  out.push({ label: 'field with name* holding NUL', parts: [...base, { name: 'x', data: Buffer.from('v'), disposition: `Content-Disposition: form-data; name*=UTF-8''x%00y` }] });
  out.push({ label: 'file part base64 encoded', parts: withFile({ extra: ['Content-Transfer-Encoding: base64'] }) });
  out.push({ label: 'part without a Content-Disposition', parts: [...base, { name: 'x', data: Buffer.from('1'), disposition: 'X-Other: 1' }] });
  out.push({ label: 'part with an empty name', parts: [...base, text('', 'v')] });
  out.push({ label: 'part with a nameless disposition', parts: [...base, { name: 'x', data: Buffer.from('v'), disposition: 'Content-Disposition: form-data' }] });
  out.push({ label: 'the boundary in the data', parts: withFile({ data: Buffer.concat([Buffer.from(`\r\n--${BOUNDARY}\r\n`), base[fileIndex].data]) }) });
  out.push({ label: 'a near-boundary in the data', parts: withFile({ data: Buffer.concat([base[fileIndex].data, Buffer.from(`\r\n--${BOUNDARY.slice(0, -1)}\r\n`)]) }) });
  out.push({ label: 'a second file', parts: [...base, { ...base[fileIndex], filename: 'two.bin' }] });
  out.push({ label: 'a file in an unexpected field', parts: [...base, { name: 'other', data: Buffer.from('x'), filename: 'o.bin' }], refused: true, status: 400 });
  out.push({ label: '60 fields', parts: [...base, ...Array.from({ length: 60 }, (_, i) => text(`f${i}`, 'v'))], refused: true, status: 400 });
  out.push({ label: 'a field over 64 KiB', parts: [...base, text('prompt_long', 'x'.repeat(70_000))], refused: true, status: 413 });
  for (const [name, value] of [['temperature', 'NaN'], ['temperature', 'hot'], ['temperature', '1e400'], ['temperature', '-1'], ['n', '1000000000'], ['n', '1e400'], ['n', '-1'], ['n', '2.5'], ['n', ''], ['n', '0x10'], ['model', 'x'.repeat(60_000)], ['model', '\u0000'], ['response_format', 'text'], ['response_format', 'mp3'], ['size', '99999999x99999999'], ['quality', '\u202e'], ['stream', 'true'], ['timestamp_granularities[]', 'word'], ['purpose', '']] as const) {
    out.push({ label: `${name}=${JSON.stringify(value.slice(0, 20))}`, parts: [...base.filter((part) => part.name !== name), text(name, value)] });
  }
  // A few random combinations of the above.
  const singles = out.filter((item) => !item.refused);
  for (let i = 0; i < 12; i++) {
    const a = singles[Math.floor(random() * singles.length)];
    const b = singles[Math.floor(random() * singles.length)];
    const names = new Set(b.parts.map((part) => part.name));
    out.push({ label: `${a.label} + ${b.label}`, parts: [...a.parts.filter((part) => !names.has(part.name)), ...b.parts] });
  }
  return out;
}

function casesOf(target: Target, random: () => number): Case[] {
  const contentType = `multipart/form-data; boundary=${BOUNDARY}`;
  const out: Case[] = [];
  for (const item of mutatedParts(target, random)) {
    out.push({ target, label: item.label, body: encode({ parts: item.parts, boundary: BOUNDARY }), contentType, refused: item.refused, status: item.status });
  }
  const body = encode({ parts: target.parts, boundary: BOUNDARY });
  // Framing.
  out.push({ target, label: 'LF line endings', body: encode({ parts: target.parts, boundary: BOUNDARY, eol: '\n' }), contentType, refused: true });
  out.push({ target, label: 'no final boundary', body: encode({ parts: target.parts, boundary: BOUNDARY, noFinal: true }), contentType, refused: true, status: 400 });
  out.push({ target, label: 'a preamble and an epilogue', body: encode({ parts: target.parts, boundary: BOUNDARY, preamble: 'ignore me', epilogue: 'and me\r\n' }), contentType });
  out.push({ target, label: 'another boundary than the header names', body, contentType: 'multipart/form-data; boundary=other', refused: true });
  out.push({ target, label: 'quoted boundary', body, contentType: `multipart/form-data; boundary="${BOUNDARY}"` });
  out.push({ target, label: 'boundary parameter twice', body, contentType: `multipart/form-data; boundary=${BOUNDARY}; boundary=x` });
  out.push({ target, label: 'a 100-character boundary', body: encode({ parts: target.parts, boundary: 'b'.repeat(100) }), contentType: `multipart/form-data; boundary=${'b'.repeat(100)}` });
  out.push({ target, label: 'no boundary', body, contentType: 'multipart/form-data', refused: true });
  out.push({ target, label: 'an empty boundary', body, contentType: 'multipart/form-data; boundary=', refused: true });
  out.push({ target, label: 'a unicode boundary', body: encode({ parts: target.parts, boundary: 'bé𝔘' }), contentType: 'multipart/form-data; boundary=bé𝔘' });
  out.push({ target, label: 'a charset parameter', body, contentType: `multipart/form-data; charset=utf-16; boundary=${BOUNDARY}` });
  out.push({ target, label: 'an empty body', body: Buffer.alloc(0), contentType, refused: true });
  out.push({ target, label: 'only the final boundary', body: Buffer.from(`--${BOUNDARY}--\r\n`), contentType, refused: true });
  out.push({ target, label: 'garbage', body: Buffer.from('\u0000\u00ff garbage \r\n\r\n'), contentType, refused: true });
  out.push({ target, label: 'the header block never ends', body: Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="model"\r\n${'X-Pad: 1\r\n'.repeat(3_000)}`), contentType, refused: true });
  // Wrong content types.
  for (const type of ['application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/mixed; boundary=' + BOUNDARY, 'application/octet-stream', '']) {
    out.push({ target, label: `Content-Type ${JSON.stringify(type)}`, body, contentType: type, refused: true });
  }
  out.push({ target, label: 'gzip-encoded', body, contentType, refused: true });
  // A Content-Length that lies, and the client closing mid-upload.
  out.push({ target, label: 'Content-Length shorter than the body', body, contentType, contentLength: Math.floor(body.length / 2), refused: true });
  out.push({ target, label: 'Content-Length longer than the body', body, contentType, contentLength: body.length + 1_000, refused: true });
  for (const fraction of [0, 0.1, 0.5, 0.9]) {
    out.push({ target, label: `closed after ${fraction * 100}% of the body`, body, contentType, closeAfter: Math.floor(body.length * fraction), refused: true });
  }
  return out;
}

interface Answer {
  status: number;
  text: string;
  closed: boolean;
}

const DEADLINE_MS = 8_000;

/** One request written on a raw socket: what it answers, or `closed` when the socket ends without an answer. */
function send(item: Case): Promise<Answer | 'deadline'> {
  return new Promise((resolve) => {
    const url = new URL(gateway.url);
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    let settled = false;
    const done = (value: Answer | 'deadline') => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done('deadline'), DEADLINE_MS);
    const finish = () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const match = /^HTTP\/1\.1 (\d{3})/.exec(raw);
      if (!match) return done({ status: 0, text: raw, closed: true });
      const head = raw.slice(0, raw.indexOf('\r\n\r\n'));
      let text = raw.slice(head.length + 4);
      if (/transfer-encoding: chunked/i.test(head)) text = text.replace(/(^|\r\n)[0-9a-f]+\r\n/gi, '');
      done({ status: Number(match[1]), text, closed: false });
    };
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', finish);
    socket.on('connect', () => {
      const headers = [`POST ${item.target.path} HTTP/1.1`, `Host: ${url.host}`, `Authorization: Bearer ${MASTER_KEY}`, 'Connection: close', `Content-Length: ${item.contentLength ?? item.body.length}`];
      if (item.contentType !== '') headers.push(`Content-Type: ${item.contentType}`);
      if (item.label === 'gzip-encoded') headers.push('Content-Encoding: gzip');
      for (const [name, value] of Object.entries(item.target.headers ?? {})) headers.push(`${name}: ${value}`);
      socket.write(`${headers.join('\r\n')}\r\n\r\n`);
      if (item.closeAfter !== undefined) {
        socket.write(item.body.subarray(0, item.closeAfter), () => setTimeout(() => done({ status: 0, text: '', closed: true }), 50));
        return;
      }
      socket.write(item.body);
      // A body shorter than its Content-Length: the client then closes its side, as a client that gave up does.
      if (item.contentLength !== undefined && item.contentLength > item.body.length) setTimeout(() => socket.end(), 100);
    });
  });
}

function wellFormedError(text: string): boolean {
  try {
    const error = (JSON.parse(text) as { error?: { message?: unknown } }).error;
    return typeof error?.message === 'string' && error.message !== '';
  } catch {
    return false;
  }
}

async function run(item: Case): Promise<string | undefined> {
  const before = upstream.requests.length;
  const answer = await send(item);
  const where = `${item.target.name} ${item.label}`;
  if (answer === 'deadline') return `${where}: no answer within ${DEADLINE_MS} ms`;
  if (item.closeAfter !== undefined) {
    // Whatever the gateway does with a closed upload, it must not go upstream.
    await new Promise((resolve) => setTimeout(resolve, 100));
    return upstream.requests.length === before ? undefined : `${where}: a truncated upload reached the upstream`;
  }
  if (answer.closed) {
    // A body whose Content-Length lies may end with the connection: never with an upstream call.
    if (item.contentLength === undefined) return `${where}: the connection closed without an answer`;
    return upstream.requests.length === before ? undefined : `${where}: a body whose Content-Length lies reached the upstream`;
  }
  if (item.status !== undefined && answer.status !== item.status) return `${where}: ${answer.status} (expected ${item.status}) ${answer.text.slice(0, 200)}`;
  if (answer.status >= 500) return `${where}: ${answer.status} ${answer.text.slice(0, 200)}`;
  if (answer.status !== 200 && !(answer.status >= 400 && answer.status < 500)) return `${where}: ${answer.status}`;
  if (answer.status !== 200 && !wellFormedError(answer.text)) return `${where}: ${answer.status} not an OpenAI error: ${answer.text.slice(0, 200)}`;
  if (item.refused && answer.status === 200) return `${where}: 200 for a body that should be refused`;
  if (item.refused && upstream.requests.length !== before) return `${where}: ${answer.status}, refused, but reached the upstream`;
  return undefined;
}

let list: Target[] = [];

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  await upstream.start();
  const sink = new Writable({
    write(chunk, _encoding, done) {
      errorLines.push(String(chunk));
      done();
    },
  });
  const entry = (name: string, model: string) => `
  - model_name: ${name}
    litellm_params: {model: openai/${model}, api_base: "${upstream.url}", api_key: ${UPSTREAM_KEY}}`;
  gateway = await startGateway(`
model_list:${entry('whisper-1', 'whisper-1')}${entry('dall-e-2', 'dall-e-2')}
router_settings: {num_retries: 0}
general_settings:
  master_key: ${MASTER_KEY}
`, { logger: pino({ level: 'error' }, sink) });
  list = makeTargets(Buffer.from(await wav().arrayBuffer()));
}, 30_000);

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUnhandled);
  await gateway?.close();
  await upstream.close();
});

const NAMES = ['transcription /v1/audio/transcriptions', 'transcription /openai/v1/audio/transcriptions', 'edits /v1/images/edits', 'edits /openai/v1/images/edits', 'variations /openai/v1/images/variations', 'files /openai/v1/files'];

describe('fuzzed multipart bodies never make the gateway fail', () => {
  beforeEach(() => {
    errorLines.length = 0;
    unhandled.length = 0;
  });
  for (const [index, name] of NAMES.entries()) {
    it(`${name}: the base form answers, every mutated form answers 200 or a well-formed 4xx`, async () => {
      const target = list.find((item) => item.name === name)!;
      const contentType = `multipart/form-data; boundary=${BOUNDARY}`;
      if (target.answers) {
        const answer = await send({ target, label: 'base', body: encode({ parts: target.parts, boundary: BOUNDARY }), contentType });
        expect(answer === 'deadline' ? answer : `${answer.status} ${answer.text.slice(0, 200)}`).toMatch(/^200 /);
      }
      const cases = casesOf(target, seededRandom(299_000 + index));
      const failures: string[] = [];
      for (const item of cases) {
        const failure = await run(item);
        if (failure) failures.push(failure);
      }
      expect(failures).toEqual([]);
      expect(unhandled.map(String)).toEqual([]);
      expect(errorLines.map((line) => line.slice(0, 500))).toEqual([]);
    }, 60_000);
    it(`${name}: a file over the endpoint's limit is a 413, never sent upstream`, async () => {
      const target = list.find((item) => item.name === name)!;
      const parts = target.parts.map((part) => (part.filename !== undefined ? { ...part, data: Buffer.alloc(target.maxFileBytes + 1024, 1) } : part));
      const failure = await run({ target, label: 'over the limit', body: encode({ parts, boundary: BOUNDARY }), contentType: `multipart/form-data; boundary=${BOUNDARY}`, refused: true, status: 413 });
      expect(failure).toBeUndefined();
      expect(unhandled.map(String)).toEqual([]);
      expect(errorLines.map((line) => line.slice(0, 500))).toEqual([]);
    }, 30_000);
  }

  it('a filename with a control character (RFC 5987 filename*) is a 400 naming the file field, never sent upstream', async () => {
    const target = list[0];
    const parts = target.parts.map((part) => (part.filename !== undefined ? { ...part, disposition: `Content-Disposition: form-data; name="file"; filename*=UTF-8''a%00b.wav` } : part));
    const before = upstream.requests.length;
    const answer = await send({ target, label: 'NUL filename', body: encode({ parts, boundary: BOUNDARY }), contentType: `multipart/form-data; boundary=${BOUNDARY}` });
    expect(answer === 'deadline' ? answer : answer.status).toBe(400);
    expect((JSON.parse((answer as Answer).text) as { error: { param: string } }).error.param).toBe('file');
    expect(upstream.requests.length).toBe(before);
  });

  it('a form cut short inside its file (no final boundary) is a 400 and raises nothing uncaught', async () => {
    for (const target of list) {
      const answer = await send({ target, label: 'no final boundary', body: encode({ parts: target.parts, boundary: BOUNDARY, noFinal: true }), contentType: `multipart/form-data; boundary=${BOUNDARY}` });
      expect(answer === 'deadline' ? answer : answer.status).toBe(400);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(unhandled.map(String)).toEqual([]);
    expect(errorLines.map((line) => line.slice(0, 500))).toEqual([]);
  });

  it('after the fuzzing the gateway still answers an upload', async () => {
    await gateway.flushUsage();
    const target = list[0];
    const answer = await send({ target, label: 'base', body: encode({ parts: target.parts, boundary: BOUNDARY }), contentType: `multipart/form-data; boundary=${BOUNDARY}` });
    expect(answer === 'deadline' ? answer : answer.status).toBe(200);
    expect(unhandled.map(String)).toEqual([]);
    expect(errorLines.map((line) => line.slice(0, 500))).toEqual([]);
  });
});
