import { describe, expect, it } from 'vitest';
import { createBedrockStreamTransform } from './stream.js';
import { bedrockDeployment, encodeMessages, fixture, replay, type StreamMessage } from './test-support.js';

const messages = (name: string) => JSON.parse(fixture(name)) as StreamMessage[];

describe('Bedrock ConverseStream → OpenAI chunks', () => {
  it('streams text, the finish reason and usage from the metadata event, for every chunking', () => {
    for (const slice of [1, 7, 37, 4096]) {
      const transform = createBedrockStreamTransform(bedrockDeployment());
      const chunks = replay(transform, encodeMessages(messages('converse-stream-text.json')), slice);
      expect(transform.error).toBeUndefined();
      expect(chunks.map((chunk) => chunk.choices[0].delta)).toEqual([{ role: 'assistant', content: '' }, { content: 'Hello' }, { content: '! How can I help' }, { content: ' you today?' }, {}]);
      expect(chunks.map((chunk) => chunk.choices[0].finish_reason)).toEqual([null, null, null, null, 'stop']);
      expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
      expect(chunks[0]).toMatchObject({ object: 'chat.completion.chunk', model: 'anthropic.claude-3-5-haiku-20241022-v1:0' });
      expect(transform.usage).toEqual({ promptTokens: 12, completionTokens: 10, totalTokens: 22 });
    }
  });

  it('streams a tool call: id and name first, then the pieces of its arguments', () => {
    const transform = createBedrockStreamTransform(bedrockDeployment());
    const chunks = replay(transform, encodeMessages(messages('converse-stream-tool-use.json')), 13);
    const deltas = chunks.map((chunk) => chunk.choices[0].delta);
    expect(deltas).toEqual([
      { role: 'assistant', content: '' },
      { content: 'Let me check.' },
      { tool_calls: [{ index: 0, id: 'tooluse_Rwk8xR2UQKSkYe0cOqCVwA', type: 'function', function: { name: 'get_weather', arguments: '' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '{"city": ' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] },
      {},
    ]);
    expect(chunks.at(-1)!.choices[0].finish_reason).toBe('tool_calls');
    expect(transform.usage).toEqual({ promptTokens: 410, completionTokens: 62, totalTokens: 472, cachedTokens: 0 });
  });

  it('ends the stream with a retryable rate-limit error on a throttlingException', () => {
    const transform = createBedrockStreamTransform(bedrockDeployment());
    const bytes = encodeMessages([
      { event: 'messageStart', payload: { role: 'assistant' } },
      { exception: 'throttlingException', payload: { message: 'Too many requests, please wait before trying again.' } },
    ]);
    const chunks = replay(transform, bytes, 5);
    expect(chunks).toHaveLength(1);
    expect(transform.error).toMatchObject({ code: 'upstream_rate_limited', upstreamStatus: 429 });
    expect(transform.error!.message).toMatch(/throttlingException.*Too many requests/);
  });

  it('maps modelStreamErrorException to a retryable upstream error and validationException to a 400', () => {
    const failed = createBedrockStreamTransform(bedrockDeployment());
    replay(failed, encodeMessages([{ exception: 'modelStreamErrorException', payload: { message: 'The model stream was interrupted', originalStatusCode: 500 } }]));
    expect(failed.error).toMatchObject({ code: 'upstream_error' });
    const invalid = createBedrockStreamTransform(bedrockDeployment());
    replay(invalid, encodeMessages([{ exception: 'validationException', payload: { message: 'messages: text field is blank' } }]));
    expect(invalid.error).toMatchObject({ code: 'upstream_bad_request', upstreamStatus: 400 });
  });

  it('never echoes the AWS secret in a stream error', () => {
    const deployment = bedrockDeployment();
    const transform = createBedrockStreamTransform(deployment);
    replay(transform, encodeMessages([{ exception: 'internalServerException', payload: { message: `failed for ${deployment.aws!.secretAccessKey}` } }]));
    expect(transform.error!.message).not.toContain(deployment.aws!.secretAccessKey);
  });
});
