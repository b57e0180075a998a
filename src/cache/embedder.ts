/**
 * The semantic cache's embedding call: the gateway's own embeddings path (the whole chain), as the
 * caller of the call being looked up, so it is checked against that caller's access and limits and
 * recorded (and billed) as a call of its own, for the call's end user (its customer's budget, rate
 * limits and allowed_model_region hold it too: the prompt goes to no embedding deployment outside
 * that region, and the customer's spend includes it).
 */
import { performance } from 'node:perf_hooks';
import { ClientConnection } from '../gateway/client-connection.js';
import type { CallContext } from '../gateway/call-context.js';
import { newCall, type Call, type Next } from '../gateway/call.js';
import { newCallId } from '../gateway/call-id.js';
import { openAIResponseFormat } from '../gateway/response-format.js';
import type { Embed } from './semantic.js';

export function chainEmbedder(run: () => Next, model: string): Embed {
  return async (call: Call, text: string) => {
    const context: CallContext = {
      callId: newCallId(),
      startedAt: performance.now(),
      startedAtEpochMs: Date.now(),
      endpoint: 'embeddings',
      caller: call.context.caller,
      client: new ClientConnection(),
      recorded: false,
      // What decides the logging of the call decides its sub-call's: the request's `no-log` (the key's
      // travels with the caller; message logging is the gateway's setting), and nothing else of its metadata.
      requestMetadata: call.context.requestMetadata?.['no-log'] === undefined ? undefined : { 'no-log': call.context.requestMetadata['no-log'] },
      // Made for the call's end user: held to its customer's budget and limits, and charged to it.
      ...(call.context.endUser === undefined ? {} : { endUser: call.context.endUser }),
      // Made from the call's client: its usage row names the address, and its trace continues the client's (as an agent run's calls do).
      ...(call.context.requesterIp === undefined ? {} : { requesterIp: call.context.requesterIp }),
      ...(call.context.traceparent === undefined ? {} : { traceparent: call.context.traceparent }),
    };
    // The prompt stays in the end user's allowed region: the embedding call is held to it too.
    const result = await run()(newCall({ context, operation: { kind: 'embeddings', request: { model, input: text } }, format: openAIResponseFormat, stream: false, region: call.region }));
    if (result.kind !== 'json') return undefined;
    const body = JSON.parse(result.body) as { data?: Array<{ embedding?: unknown }> };
    const embedding = body.data?.[0]?.embedding;
    if (Array.isArray(embedding)) return Float32Array.from(embedding as number[]);
    if (typeof embedding === 'string') {
      const bytes = Uint8Array.from(Buffer.from(embedding, 'base64'));
      return new Float32Array(bytes.buffer, 0, bytes.byteLength >> 2);
    }
    return undefined;
  };
}
