/**
 * A stored response as the event stream that produced it (GET /v1/responses/{id}?stream=true, the
 * SDK's `responses.stream({ response_id })`): the same event types and order as a live stream
 * (stream-encoder.ts), with the stored ids, each item's text in one delta, and
 * `starting_after` leaving out the events up to that sequence number.
 */
import { responseFrameOf } from './response.js';
import type { ResponseObject } from './types.js';

export function replayEvents(response: ResponseObject, startingAfter: number | undefined): string {
  let sequence = 0;
  let out = '';
  const event = (type: string, data: object) => {
    const number = sequence++;
    if (startingAfter === undefined || number > startingAfter) out += `event: ${type}\ndata: ${JSON.stringify({ type, ...data, sequence_number: number })}\n\n`;
  };
  const started = responseFrameOf(response, { status: 'in_progress', output: [], usage: null });
  event('response.created', { response: started });
  event('response.in_progress', { response: started });
  response.output.forEach((item, index) => {
    const common = { item_id: item.id, output_index: index, content_index: 0 };
    if (item.type === 'function_call') {
      event('response.output_item.added', { output_index: index, item: { ...item, status: 'in_progress', arguments: '' } });
      if (item.arguments.length > 0) event('response.function_call_arguments.delta', { item_id: item.id, output_index: index, delta: item.arguments });
      event('response.function_call_arguments.done', { item_id: item.id, output_index: index, name: item.name, arguments: item.arguments });
    } else if (item.type === 'message') {
      const text = item.content.map((part) => part.text).join('');
      event('response.output_item.added', { output_index: index, item: { ...item, status: 'in_progress', content: [] } });
      event('response.content_part.added', { ...common, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } });
      if (text.length > 0) event('response.output_text.delta', { ...common, delta: text, logprobs: [] });
      event('response.output_text.done', { ...common, text, logprobs: [] });
      event('response.content_part.done', { ...common, part: { type: 'output_text', text, annotations: [], logprobs: [] } });
    } else {
      const text = item.content.map((part) => part.text).join('');
      event('response.output_item.added', { output_index: index, item: { ...item, status: 'in_progress', content: [], encrypted_content: undefined } });
      event('response.content_part.added', { ...common, part: { type: 'reasoning_text', text: '' } });
      if (text.length > 0) event('response.reasoning_text.delta', { ...common, delta: text });
      event('response.reasoning_text.done', { ...common, text });
      event('response.content_part.done', { ...common, part: { type: 'reasoning_text', text } });
    }
    event('response.output_item.done', { output_index: index, item });
  });
  event(response.status === 'incomplete' ? 'response.incomplete' : 'response.completed', { response });
  return out;
}
