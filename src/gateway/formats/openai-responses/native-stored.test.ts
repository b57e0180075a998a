import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../errors.js';
import { encodeThinkingBlocks } from './reasoning-blocks.js';
import { itemsForNativeInput, openAIResponsesNativeFormat } from './native-stored.js';
import type { ResponseObject } from './types.js';

const echo = { model: 'gpt', store: true, previousResponseId: 'resp_prev' };
const response = { id: 'resp_up', object: 'response', status: 'completed', model: 'gpt-4o-mini', store: false, previous_response_id: null, output: [{ id: 'msg_1', type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Hi', annotations: [] }] }], usage: { input_tokens: 3, output_tokens: 1 } };

describe('natively relayed Responses', () => {
  it('echoes the client\'s request fields on a JSON answer and hands the finished response to the store', () => {
    const stored: ResponseObject[] = [];
    const format = openAIResponsesNativeFormat(echo, (item) => stored.push(item));
    const body = JSON.parse(format.native!(JSON.stringify(response), response)) as Record<string, unknown>;
    expect(body).toMatchObject({ id: 'resp_up', model: 'gpt', store: true, previous_response_id: 'resp_prev', output_text: 'Hi' });
    expect(stored.map((item) => item.id)).toEqual(['resp_up']);
    // A failed response is relayed, not stored.
    format.native!(JSON.stringify({ ...response, status: 'failed' }), { ...response, status: 'failed' });
    expect(stored).toHaveLength(1);
  });

  it('rewrites the stream\'s Response events, passes the others as they came, and ends a cut stream with response.failed', () => {
    const stored: ResponseObject[] = [];
    const encoder = openAIResponsesNativeFormat(echo, (item) => stored.push(item)).stream({ includeUsage: false });
    const created = `event: response.created\ndata: ${JSON.stringify({ type: 'response.created', response: { ...response, status: 'in_progress', output: [] }, sequence_number: 0 })}\n\n`;
    const delta = `event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"Hi","sequence_number":1}\n\n`;
    const out = encoder.chunks([{ raw: created } as never, { raw: delta } as never]);
    expect(out.endsWith(delta)).toBe(true);
    const first = JSON.parse(out.split('\n')[1].slice(6)) as { response: Record<string, unknown> };
    expect(first.response).toMatchObject({ model: 'gpt', store: true, previous_response_id: 'resp_prev' });
    const failed = encoder.error(new GatewayError('upstream_error', 'cut'));
    expect(failed.startsWith('event: response.failed\n')).toBe(true);
    expect(JSON.parse(failed.split('\n')[1].slice(6))).toMatchObject({ type: 'response.failed', sequence_number: 2, response: { id: 'resp_up', status: 'failed', error: { message: expect.stringContaining('cut') } } });
    expect(stored).toEqual([]);
  });

  it('turns stored items into native input: ids dropped, assistant text, only OpenAI\'s own encrypted reasoning', () => {
    const gatewayReasoning = { id: 'rs_1', type: 'reasoning', summary: [], encrypted_content: encodeThinkingBlocks([{ type: 'thinking', thinking: 't', signature: 's' }]) };
    const openaiReasoning = { id: 'rs_2', type: 'reasoning', summary: [], encrypted_content: 'gAAAA-opaque' };
    expect(itemsForNativeInput([
      { id: 'msg_u', type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Q' }] },
      gatewayReasoning,
      { id: 'rs_3', type: 'reasoning', summary: [] },
      openaiReasoning,
      { id: 'msg_a', type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'A', annotations: [] }, { type: 'refusal', refusal: '!' }] },
      { id: 'fc_1', type: 'function_call', call_id: 'c1', name: 'f', arguments: '{}' },
    ])).toEqual([
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Q' }] },
      openaiReasoning,
      { type: 'message', role: 'assistant', content: 'A!' },
      { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{}' },
    ]);
  });
});
