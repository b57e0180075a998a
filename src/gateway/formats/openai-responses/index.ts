/**
 * The OpenAI Responses format (`POST /v1/responses`): requests are mapped to the canonical chat
 * format so that every configured model serves them, and answers are written back as Responses
 * objects or event streams. The format holds the request's own details (its response id, echoed
 * parameters), so each request gets its own; `onComplete` sees every response that finished (the
 * route stores it).
 */
import type { ResponseFormat } from '../../response-format.js';
import { chatToResponse } from './response.js';
import { ResponsesStreamEncoder } from './stream-encoder.js';
import type { ResponseObject, ResponsesRequestContext } from './types.js';

export { fitToDeployments } from './fit-deployments.js';
export { mapInput } from './input-items.js';
export { replayEvents } from './replay.js';
export { responsesRequestToChat } from './request.js';
export { chatToResponse, outputTextOf, outputToMessages } from './response.js';
export { itemsForNativeInput, openAIResponsesNativeFormat } from './native-stored.js';
export { ResponsesStreamEncoder } from './stream-encoder.js';
export type { MappedResponsesRequest, ResponseInputItem, ResponseObject, ResponsesRequestContext } from './types.js';

export function openAIResponsesFormat(context: ResponsesRequestContext, onComplete?: (response: ResponseObject) => void): ResponseFormat {
  return {
    // The upstream body is a chat completion, never what a Responses client reads: `raw` is not used.
    chat: (response) => {
      const object = chatToResponse(response, context);
      onComplete?.(object);
      return JSON.stringify(object);
    },
    stream: () => new ResponsesStreamEncoder(context, onComplete),
  };
}
