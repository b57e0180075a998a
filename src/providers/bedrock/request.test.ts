import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import type { ChatRequest } from '../types.js';
import { buildBedrockChatRequest, converseBody } from './request.js';
import { bedrockDeployment } from './test-support.js';

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

function refusal(request: ChatRequest): GatewayError {
  try {
    converseBody(request, bedrockDeployment());
  } catch (error) {
    return error as GatewayError;
  }
  throw new Error('expected a refusal');
}

describe('OpenAI chat → Bedrock Converse', () => {
  it('calls /model/{id}/converse with the model id encoded, signed, and maps system and inference settings', () => {
    const upstream = buildBedrockChatRequest(
      { model: 'm', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }], max_tokens: 300, temperature: 0.5, top_p: 0.9, stop: 'END' },
      bedrockDeployment(),
    );
    expect(upstream.url).toBe('https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse');
    expect(upstream.framing).toBe('json');
    expect(upstream.headers.Authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/bedrock\/aws4_request, SignedHeaders=accept;content-length;content-type;host;x-amz-date, Signature=[0-9a-f]{64}$/);
    expect(JSON.parse(upstream.body!)).toEqual({
      messages: [{ role: 'user', content: [{ text: 'Hi' }] }],
      system: [{ text: 'Be brief.' }],
      inferenceConfig: { maxTokens: 300, temperature: 0.5, topP: 0.9, stopSequences: ['END'] },
    });
  });

  it('streams from /converse-stream with the event-stream framing; accepts a cross-region inference profile id', () => {
    const upstream = buildBedrockChatRequest({ model: 'm', messages: [{ role: 'user', content: 'Hi' }], stream: true }, bedrockDeployment({ upstreamModel: 'us.anthropic.claude-3-5-haiku-20241022-v1:0' }));
    expect(upstream.url).toBe('https://bedrock-runtime.us-east-1.amazonaws.com/model/us.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream');
    expect(upstream.framing).toBe('eventstream');
    expect(upstream.headers.accept).toBe('application/vnd.amazon.eventstream');
    expect(JSON.parse(upstream.body!)).toEqual({ messages: [{ role: 'user', content: [{ text: 'Hi' }] }] });
  });

  it('maps images, tools, tool calls and tool results, merging consecutive turns of one role', () => {
    const body = converseBody(
      {
        model: 'm',
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'Weather here?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } }] },
          { role: 'assistant', content: null, tool_calls: [{ id: 'tooluse_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
          { role: 'tool', tool_call_id: 'tooluse_1', content: '{"temp":21}' },
          { role: 'user', content: 'And tomorrow?' },
        ],
        tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather by city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }],
        tool_choice: 'required',
      },
      bedrockDeployment(),
    );
    expect(body.messages).toEqual([
      { role: 'user', content: [{ text: 'Weather here?' }, { image: { format: 'png', source: { bytes: PNG } } }] },
      { role: 'assistant', content: [{ toolUse: { toolUseId: 'tooluse_1', name: 'get_weather', input: { city: 'Paris' } } }] },
      { role: 'user', content: [{ toolResult: { toolUseId: 'tooluse_1', content: [{ text: '{"temp":21}' }] } }, { text: 'And tomorrow?' }] },
    ]);
    expect(body.toolConfig).toEqual({
      tools: [{ toolSpec: { name: 'get_weather', description: 'Weather by city', inputSchema: { json: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } } }],
      toolChoice: { any: {} },
    });
    const named = converseBody({ model: 'm', messages: [{ role: 'user', content: 'x' }], tools: body.toolConfig!.tools.map((tool) => ({ type: 'function' as const, function: { name: tool.toolSpec.name } })), tool_choice: { type: 'function', function: { name: 'get_weather' } } }, bedrockDeployment());
    expect(named.toolConfig!.toolChoice).toEqual({ tool: { name: 'get_weather' } });
  });

  it('maps PDF file parts to document blocks with names unique in the request', () => {
    const pdf = 'data:application/pdf;base64,JVBERi0xLjQK';
    const body = converseBody(
      { model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'Compare' }, { type: 'file', file: { file_data: pdf } }, { type: 'file', file: { file_data: pdf } }] }] },
      bedrockDeployment(),
    );
    expect(body.messages[0].content.slice(1)).toEqual([
      { document: { format: 'pdf', name: 'document-0-1', source: { bytes: 'JVBERi0xLjQK' } } },
      { document: { format: 'pdf', name: 'document-0-2', source: { bytes: 'JVBERi0xLjQK' } } },
    ]);
  });

  it('fills inference settings from the deployment\'s defaults when the client gives none', () => {
    const body = converseBody({ model: 'm', messages: [{ role: 'user', content: 'Hi' }], temperature: 0.1 }, bedrockDeployment({ defaultParams: { max_tokens: 77, temperature: 0.9 } }));
    expect(body.inferenceConfig).toEqual({ maxTokens: 77, temperature: 0.1 });
  });

  it('refuses what Converse cannot take, naming the field', () => {
    expect(refusal({ model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] }] })).toMatchObject({ code: 'invalid_request', param: 'messages[0].content[0].image_url.url' });
    expect(refusal({ model: 'm', messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: 'none' })).toMatchObject({ param: 'tool_choice' });
    expect(refusal({ model: 'm', messages: [{ role: 'user', content: 'x' }], n: 2 })).toMatchObject({ param: 'n' });
    expect(refusal({ model: 'm', messages: [{ role: 'system', content: 'only a system prompt' }] })).toMatchObject({ param: 'messages' });
    expect(refusal({ model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/tiff;base64,AAAA' } }] }] }).message).toMatch(/image\/tiff/);
  });

  it('sends top_k to Claude in additionalModelRequestFields and refuses it for other models', () => {
    expect(converseBody({ model: 'm', messages: [{ role: 'user', content: 'x' }], top_k: 40 }, bedrockDeployment()).additionalModelRequestFields).toEqual({ top_k: 40 });
    expect(converseBody({ model: 'm', messages: [{ role: 'user', content: 'x' }], top_k: 5 }, bedrockDeployment({ upstreamModel: 'us.anthropic.claude-sonnet-4-20250514-v1:0' })).additionalModelRequestFields).toEqual({ top_k: 5 });
    expect(() => converseBody({ model: 'm', messages: [{ role: 'user', content: 'x' }], top_k: 40 }, bedrockDeployment({ upstreamModel: 'amazon.nova-pro-v1:0' }))).toThrow(/top_k is not supported/);
  });

  it('needs AWS credentials on the deployment', () => {
    expect(() => buildBedrockChatRequest({ model: 'm', messages: [{ role: 'user', content: 'x' }] }, bedrockDeployment({ aws: undefined }))).toThrow(/no AWS credentials/);
  });
});
