/**
 * The Gateway: the request path's entry points (chat, completions, embeddings) over the chain of
 * stages built once in chain.ts — resolve → admit → route → attempt → settle and record
 * (docs/architecture.md). Nothing on the path awaits the database.
 */
import { GatewayError } from '../errors.js';
import { endUserFromBody, endUserFromNativeBody } from './end-user.js';
import type { ChatRequest, CompletionRequest, EmbeddingsRequest } from '../providers/types.js';
import type { CallContext, GatewayResult, NativeOperation, Operation } from './call-context.js';
import { newCall, type Call, type NativeAlternative, type Next } from './call.js';
import { buildChain } from './chain.js';
import { explainCall } from './explain.js';
import type { GatewayDependencies } from './dependencies.js';
import { InFlightCalls } from './in-flight.js';
import { addLiteLLMHeaders } from './litellm-headers.js';
import { UsageRecorder } from './record.js';
import { promptOf } from './request-body.js';
import { openAIResponseFormat, type ResponseFormat } from './response-format.js';
import { storedModelName } from './stages/record-failures.js';
import { admitUnpriced } from './stages/admit.js';
import type { Ticket } from '../auth/admission.js';

export class Gateway {
  private readonly recorder: UsageRecorder;
  private readonly chain: Next;
  /** Calls not yet settled and recorded (a shutdown waits for them: `idle()`). */
  readonly inFlight = new InFlightCalls();

  constructor(private readonly deps: GatewayDependencies) {
    this.recorder = new UsageRecorder(deps);
    this.chain = buildChain(deps, this.recorder);
  }

  /**
   * A chat completion, answered in `format` (OpenAI's unless the endpoint speaks another);
   * `alternative` is the request in a provider's own API for the deployments that serve it natively.
   */
  chat(context: CallContext, request: ChatRequest, format: ResponseFormat = openAIResponseFormat, alternative?: NativeAlternative): Promise<GatewayResult> {
    const call = this.callOf(context, { kind: 'chat', request }, format);
    return this.run(alternative ? { ...call, alternative } : call);
  }

  completion(context: CallContext, request: CompletionRequest): Promise<GatewayResult> {
    return this.run(this.callOf(context, { kind: 'completion', request }, openAIResponseFormat));
  }

  embeddings(context: CallContext, request: EmbeddingsRequest): Promise<GatewayResult> {
    return this.run(this.callOf(context, { kind: 'embeddings', request }, openAIResponseFormat));
  }

  /** A provider-native call (`/gemini/...`), relayed untranslated and answered in `format`. */
  native(context: CallContext, operation: NativeOperation, format: ResponseFormat): Promise<GatewayResult> {
    return this.run(this.callOf(context, operation, format));
  }

  /** What a chat call would decide (rule, model, fallbacks, level), without making it (explain.ts). */
  explainChat(context: CallContext, request: ChatRequest): Promise<Call> {
    return explainCall(this.deps, context, { kind: 'chat', request });
  }

  /** Records a request that failed before reaching a deployment (bad input, auth, unknown model). */
  recordRejected(context: CallContext, error: GatewayError, modelGroup: string | null): void {
    this.recorder.recordRejected(context, error, storedModelName(this.deps.catalog, modelGroup));
  }

  /** Admits a call to a pass-through endpoint against the rate limits that apply to it (stages/admit.ts); settle the ticket when it ends. */
  admitUnpriced(context: CallContext): Promise<Ticket | undefined> {
    return admitUnpriced(this.deps, context);
  }

  /** general_settings.max_response_size_mb in bytes, for the pass-through relay's answers (http/routes/pass-through.ts). */
  get maxResponseBytes(): number | undefined {
    return this.deps.settings.maxResponseBytes;
  }

  /** Records a call relayed to a pass-through endpoint (http/routes/pass-through.ts). */
  recordPassThrough(context: CallContext, outcome: Parameters<UsageRecorder['recordPassThrough']>[1]): void {
    this.recorder.recordPassThrough(context, outcome);
  }

  /** Runs the chain, counting the call in flight until its result is out (a stream: until its pump ended). */
  private async run(call: Call): Promise<GatewayResult> {
    const end = this.inFlight.begin();
    let result: GatewayResult;
    try {
      result = await this.chain(call);
    } catch (error) {
      end();
      throw error;
    }
    addLiteLLMHeaders(result.headers, call.context, this.deps.admission?.keySpend);
    if (result.kind !== 'stream') {
      end();
      return result;
    }
    const { pump } = result;
    return { ...result, pump: (response) => pump(response).finally(end) };
  }

  private callOf(context: CallContext, operation: Operation, format: ResponseFormat): Call {
    // A header named the end user first (server.ts); else the body's `user` does. This is the one
    // place the body is read for it (gateway/end-user.ts), so a fuller reading replaces it here.
    // A provider-native call (`/openai/v1/*`, `/anthropic`, media, native Responses) carries the
    // client's body in `request.native`: it names the end user there just the same.
    if (context.endUser === undefined) {
      const endUser = operation.kind === 'native' ? endUserFromNativeBody(operation.api, operation.request.native) : endUserFromBody(operation.request);
      if (endUser !== undefined) context.endUser = endUser;
    }
    const stream = operation.kind !== 'embeddings' && operation.request.stream === true;
    return newCall({ context, operation, format, stream, promptForLog: this.deps.settings.storePrompts ? promptOf(operation) : undefined });
  }
}
