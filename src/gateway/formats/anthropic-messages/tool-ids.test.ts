import { describe, expect, it } from 'vitest';
import { messagesRequestToChat } from './request.js';
import { chatToAnthropicMessage } from './response.js';
import { toolCallExtrasOf, toolUseIdOf } from './tool-ids.js';

describe('thought signatures in tool_use ids', () => {
  const signature = 'c2lnbmF0dXJlLW9mLWdldF93ZWF0aGVy+/8=';

  it('rides a Gemini thought signature out in the id and back into extra_content', () => {
    const id = toolUseIdOf({ id: 'call_0', extra_content: { google: { thought_signature: signature } } });
    expect(id).toMatch(/^call_0__thought__[A-Za-z0-9_-]+$/);
    expect(toolCallExtrasOf(id)).toEqual({ id, extra_content: { google: { thought_signature: signature } } });
    expect(toolUseIdOf({ id: 'call_1' })).toBe('call_1');
    expect(toolCallExtrasOf('toolu_01A09q90qw90lq917835lq9')).toEqual({ id: 'toolu_01A09q90qw90lq917835lq9' });
  });

  it('survives a whole turn: response tool_use → next request tool_use and tool_result', () => {
    const message = chatToAnthropicMessage(
      {
        id: 'chatcmpl-g',
        object: 'chat.completion',
        created: 0,
        model: 'gemini-3-pro',
        choices: [
          {
            index: 0,
            finish_reason: 'tool_calls',
            message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_0', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' }, extra_content: { google: { thought_signature: signature } } } as never] },
          },
        ],
      },
      { model: 'gemini', stopSequences: [] },
    );
    const toolUse = message.content[0] as { id: string };
    const { request } = messagesRequestToChat({
      model: 'gemini',
      max_tokens: 100,
      messages: [
        { role: 'user', content: 'Weather?' },
        { role: 'assistant', content: message.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUse.id, content: 'sunny' }] },
      ],
    });
    expect(request.messages[1].tool_calls).toEqual([
      { id: toolUse.id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' }, extra_content: { google: { thought_signature: signature } } },
    ]);
    expect(request.messages[2]).toEqual({ role: 'tool', tool_call_id: toolUse.id, content: 'sunny' });
  });
});
