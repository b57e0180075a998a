import { describe, expect, it } from 'vitest';
import { converseBody } from './request.js';
import { parseBedrockChatResponse } from './response.js';
import { createBedrockStreamTransform } from './stream.js';
import { bedrockDeployment, encodeMessages, replay } from './test-support.js';

describe('extended thinking for Claude on Bedrock', () => {
  it('reasoning_effort → additionalModelRequestFields.thinking, inside max_tokens (never raised past what was reserved)', () => {
    const body = converseBody({ model: 'm', messages: [{ role: 'user', content: 'x' }], reasoning_effort: 'medium', max_tokens: 3000 }, bedrockDeployment());
    expect(body.additionalModelRequestFields).toEqual({ thinking: { type: 'enabled', budget_tokens: 2048 } });
    expect(body.inferenceConfig).toEqual({ maxTokens: 3000 });
    // No limit given: the one the gateway reserves for (model_info's output limit, else 4096) is sent.
    expect(converseBody({ model: 'm', messages: [{ role: 'user', content: 'x' }], reasoning_effort: 'low' }, bedrockDeployment()).inferenceConfig).toEqual({ maxTokens: 4096 });
    expect(converseBody({ model: 'm', messages: [{ role: 'user', content: 'x' }], reasoning_effort: 'low' }, bedrockDeployment({ modelInfo: { max_output_tokens: 8192 } })).inferenceConfig).toEqual({ maxTokens: 8192 });
    const raw = converseBody({ model: 'm', messages: [{ role: 'user', content: 'x' }], thinking: { type: 'enabled', budget_tokens: 3000 }, max_tokens: 8000 }, bedrockDeployment());
    expect(raw.additionalModelRequestFields).toEqual({ thinking: { type: 'enabled', budget_tokens: 3000 } });
    expect(raw.inferenceConfig).toEqual({ maxTokens: 8000 });
    expect(converseBody({ model: 'm', messages: [{ role: 'user', content: 'x' }], reasoning_effort: 'none' }, bedrockDeployment()).additionalModelRequestFields).toBeUndefined();
  });

  it('refuses a max_tokens the thinking budget does not fit under', () => {
    expect(() => converseBody({ model: 'm', messages: [{ role: 'user', content: 'x' }], reasoning_effort: 'high', max_tokens: 1000 }, bedrockDeployment())).toThrow(/max_tokens \(1000\) must be larger than the thinking budget \(4096 tokens\)/);
  });

  it('is refused for models other than Claude, and an unknown effort is refused', () => {
    expect(() => converseBody({ model: 'm', messages: [{ role: 'user', content: 'x' }], reasoning_effort: 'high' }, bedrockDeployment({ upstreamModel: 'amazon.nova-pro-v1:0' }))).toThrow(/only Claude models/);
    expect(() => converseBody({ model: 'm', messages: [{ role: 'user', content: 'x' }], reasoning_effort: 'extreme' }, bedrockDeployment())).toThrow(/must be one of/);
  });

  it('sends signed thinking_blocks of an assistant turn back as reasoningContent, before its tool use', () => {
    const body = converseBody(
      {
        model: 'm',
        reasoning_effort: 'low',
        messages: [
          { role: 'user', content: 'Weather?' },
          {
            role: 'assistant',
            content: null,
            thinking_blocks: [{ type: 'thinking', thinking: 'I should call the tool.', signature: 'sig-1' }, { type: 'redacted_thinking', data: 'opaque' }],
            tool_calls: [{ id: 'tooluse_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }],
          },
          { role: 'tool', tool_call_id: 'tooluse_1', content: 'sunny' },
        ],
        tools: [{ type: 'function', function: { name: 'get_weather' } }],
      },
      bedrockDeployment(),
    );
    expect(body.messages[1].content).toEqual([
      { reasoningContent: { reasoningText: { text: 'I should call the tool.', signature: 'sig-1' } } },
      { reasoningContent: { redactedContent: 'opaque' } },
      { toolUse: { toolUseId: 'tooluse_1', name: 'get_weather', input: {} } },
    ]);
  });

  it('returns reasoning as reasoning_content and signed thinking_blocks', () => {
    const response = parseBedrockChatResponse(
      {
        output: { message: { role: 'assistant', content: [{ reasoningContent: { reasoningText: { text: 'Two plus two…', signature: 'sig-9' } } }, { text: '4' }] } },
        stopReason: 'end_turn',
        usage: { inputTokens: 10, outputTokens: 50, totalTokens: 60 },
      },
      bedrockDeployment(),
    );
    expect(response.choices[0].message).toEqual({ role: 'assistant', content: '4', reasoning_content: 'Two plus two…', thinking_blocks: [{ type: 'thinking', thinking: 'Two plus two…', signature: 'sig-9' }] });
  });

  it('streams reasoning text, then the signature as a thinking block', () => {
    const transform = createBedrockStreamTransform(bedrockDeployment());
    const chunks = replay(
      transform,
      encodeMessages([
        { event: 'messageStart', payload: { role: 'assistant' } },
        { event: 'contentBlockDelta', payload: { contentBlockIndex: 0, delta: { reasoningContent: { text: 'Two plus ' } } } },
        { event: 'contentBlockDelta', payload: { contentBlockIndex: 0, delta: { reasoningContent: { text: 'two…' } } } },
        { event: 'contentBlockDelta', payload: { contentBlockIndex: 0, delta: { reasoningContent: { signature: 'sig-9' } } } },
        { event: 'contentBlockStop', payload: { contentBlockIndex: 0 } },
        { event: 'contentBlockDelta', payload: { contentBlockIndex: 1, delta: { text: '4' } } },
        { event: 'messageStop', payload: { stopReason: 'end_turn' } },
      ]),
      11,
    );
    expect(chunks.map((chunk) => chunk.choices[0].delta)).toEqual([
      { role: 'assistant', content: '' },
      { reasoning_content: 'Two plus ' },
      { reasoning_content: 'two…' },
      { thinking_blocks: [{ type: 'thinking', thinking: '', signature: 'sig-9' }] },
      { content: '4' },
      {},
    ]);
  });
});
