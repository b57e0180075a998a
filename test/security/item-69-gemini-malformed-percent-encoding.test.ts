/**
 * Mapping an OpenAI request to Gemini percent-decodes two things the client wrote: a plain
 * (non-base64) `data:` URL in an image_url, and a `$ref` such as "#/$defs/%ZZ" in a tool's
 * parameters. Malformed percent-encoding threw a URIError there: the client got a 500 "internal
 * error: URI malformed" (the text of a gateway bug) for a mistake of its own. Now both are a 400
 * naming the field.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockGemini } from '../support/mock-gemini.js';

const gemini = new MockGemini();
let gateway: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  await gemini.start();
  gateway = await startGateway(`
model_list:
  - model_name: flash
    litellm_params: {model: gemini/gemini-2.0-flash, api_base: "${gemini.url}", api_key: g-key}
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`);
  client = gateway.openai();
});
afterAll(async () => {
  await gateway?.close();
  await gemini.close();
});

const badDataUrl = { model: 'flash', messages: [{ role: 'user' as const, content: [{ type: 'image_url' as const, image_url: { url: 'data:text/plain,50%ZZ' } }] }] };
const badRef = {
  model: 'flash',
  messages: [{ role: 'user' as const, content: 'hi' }],
  tools: [{ type: 'function' as const, function: { name: 'f', parameters: { type: 'object', properties: { a: { $ref: '#/$defs/%ZZ' } }, $defs: { x: { type: 'string' } } } } }],
};

describe('malformed percent-encoding in a request mapped to Gemini', () => {
  it.each([
    ['a plain data: URL', badDataUrl, 'messages[0].content[0]'],
    ['a tool schema $ref', badRef, 'tools[0]'],
  ])('%s: BadRequestError naming the field, not a 500', async (_label, body, param) => {
    const error = await client.chat.completions.create(body as OpenAI.ChatCompletionCreateParamsNonStreaming).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    const typed = error as InstanceType<typeof OpenAI.BadRequestError>;
    expect(typed.message).not.toContain('internal');
    expect(String(typed.param)).toContain(param);
  });

});
