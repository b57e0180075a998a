/**
 * The request path (ARCHITECTURE.md): resolve model → plan deployments → attempt loop (build the
 * provider request, call upstream, parse or open the stream) → settle (usage → cost) → respond,
 * with the usage record queued off the response path. Nothing here awaits the database.
 */
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { costMicros, formatUsd } from '../billing/cost.js';
import { GatewayError, upstreamErrorCode } from '../errors.js';
import { adapterFor } from '../providers/registry.js';
import type { ChatRequest, CompletionRequest, Deployment, EmbeddingsRequest, ProviderAdapter, UpstreamRequest, Usage } from '../providers/types.js';
import { usageFromOpenAI } from '../providers/shared/usage.js';
import type { ModelCatalog, ModelGroup } from '../routing/catalog.js';
import { planDeployments } from '../routing/router.js';
import type { UsageLogWriter } from '../observability/usage-log-writer.js';
import { openAIResponseFormat, type ResponseFormat } from './response-format.js';
import { relayStream, UpstreamStream, type StreamTimers } from './stream-relay.js';
import { countChatPromptTokens, countTextTokens } from './token-count.js';
import { connectionError, type UpstreamClient, type UpstreamResponse } from './upstream.js';

export type Endpoint = 'chat/completions' | 'completions' | 'embeddings' | 'messages';

export interface Caller {
  keyHash: string | null;
  keyAlias: string | null;
  userId: string | null;
  teamId: string | null;
}

export interface CallContext {
  callId: string;
  /** performance.now() when the request arrived. */
  startedAt: number;
  startedAtEpochMs: number;
  endpoint: Endpoint;
  caller: Caller;
  /** Fires when the client goes away before the response is complete. */
  clientSignal: AbortSignal;
  /** Set once the call's usage record is queued, so that no call is recorded twice. */
  recorded: boolean;
}

export interface GatewaySettings {
  /** Extra attempts on retryable upstream failures, across the group's deployments. */
  numRetries: number;
  /** litellm_settings.drop_params: drop parameters a provider cannot take instead of refusing the call. */
  dropParams: boolean;
}

/** Fields every adapter takes whatever its supportedParams say. */
const ALWAYS_SUPPORTED = new Set(['model', 'messages', 'stream', 'stream_options']);

export interface GatewayDependencies {
  catalog: ModelCatalog;
  upstream: UpstreamClient;
  usageWriter: UsageLogWriter;
  logger: Logger;
  settings: GatewaySettings;
}

export type GatewayResult =
  | { kind: 'json'; status: number; headers: Record<string, string>; body: string }
  | { kind: 'stream'; headers: Record<string, string>; pump(response: ServerResponse): Promise<void> };

/** What one upstream attempt produced, for headers and the usage record. */
interface Settlement {
  deployment: Deployment;
  usage: Usage | undefined;
  costMicros: number | undefined;
  upstreamLatencyMs: number;
  timeToFirstTokenMs: number | null;
  retries: number;
}

type Operation =
  | { kind: 'chat'; request: ChatRequest }
  | { kind: 'completion'; request: CompletionRequest }
  | { kind: 'embeddings'; request: EmbeddingsRequest };

const DEFAULT_TIMEOUT_MS = 600_000;

export class Gateway {
  constructor(private readonly deps: GatewayDependencies) {}

  /** A chat completion, answered in `format` (OpenAI's unless the endpoint speaks another). */
  chat(context: CallContext, request: ChatRequest, format: ResponseFormat = openAIResponseFormat): Promise<GatewayResult> {
    return this.run(context, { kind: 'chat', request }, format);
  }

  completion(context: CallContext, request: CompletionRequest): Promise<GatewayResult> {
    return this.run(context, { kind: 'completion', request }, openAIResponseFormat);
  }

  embeddings(context: CallContext, request: EmbeddingsRequest): Promise<GatewayResult> {
    return this.run(context, { kind: 'embeddings', request }, openAIResponseFormat);
  }

  /** Records a request that failed before reaching a deployment (bad input, auth, unknown model). */
  recordRejected(context: CallContext, error: GatewayError, modelGroup: string | null): void {
    this.record(context, { modelGroup, deployment: undefined, error, stream: false });
  }

  private async run(context: CallContext, operation: Operation, format: ResponseFormat): Promise<GatewayResult> {
    const modelName = operation.request.model;
    let group: ModelGroup;
    try {
      group = this.resolveGroup(modelName);
    } catch (error) {
      this.recordRejected(context, error as GatewayError, modelName);
      throw error;
    }
    const stream = operation.kind !== 'embeddings' && operation.request.stream === true;
    const plan = planDeployments(group);
    const maxAttempts = 1 + this.deps.settings.numRetries;
    let lastError: GatewayError | undefined;
    let lastDeployment: Deployment | undefined;

    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const deployment = plan[attempt % plan.length];
      lastDeployment = deployment;
      if (context.clientSignal.aborted) break;
      try {
        return stream
          ? await this.attemptStream(context, operation as Extract<Operation, { kind: 'chat' | 'completion' }>, deployment, group, attempt, format)
          : await this.attemptOnce(context, operation, deployment, group, attempt, format);
      } catch (error) {
        lastError = error instanceof GatewayError ? error : connectionError(error, deployment.provider);
        if (!lastError.retryable) break;
        this.deps.logger.warn({ callId: context.callId, deployment: deployment.id, provider: deployment.provider, code: lastError.code, status: lastError.status }, 'upstream attempt failed');
      }
    }
    const error = lastError ?? new GatewayError('model_unavailable', `no deployment of "${group.name}" could be tried`);
    if (context.clientSignal.aborted && !lastError) {
      this.record(context, { modelGroup: group.name, deployment: lastDeployment, error: clientGone(), stream });
    } else {
      this.record(context, { modelGroup: group.name, deployment: lastDeployment, error, stream, retries: Math.max(0, maxAttempts - 1) });
    }
    throw error;
  }

  private resolveGroup(model: string): ModelGroup {
    const group = this.deps.catalog.resolve(model);
    if (!group) {
      throw new GatewayError('model_not_found', `model "${model}" is not configured on this gateway; GET /v1/models lists the models you can use`, { param: 'model' });
    }
    if (group.available.length === 0) {
      const reasons = [...new Set(group.deployments.map((deployment) => deployment.unavailableReason).filter(Boolean))].join('; ');
      throw new GatewayError('model_unavailable', `model "${model}" is configured but unavailable: ${reasons || 'no deployment can be called'}`, { param: 'model' });
    }
    return group;
  }

  /**
   * Parameters the deployment's provider cannot take: dropped with a warning when drop_params is
   * on (per deployment, else globally), refused with a 400 that names them otherwise.
   */
  private applyParamPolicy(request: ChatRequest, adapter: ProviderAdapter, deployment: Deployment, warnings: string[]): ChatRequest {
    const supported = adapter.supportedParams;
    if (!supported) return request;
    const unsupported = Object.keys(request).filter((key) => !ALWAYS_SUPPORTED.has(key) && !supported.has(key) && request[key] !== undefined && request[key] !== null);
    if (unsupported.length === 0) return request;
    if (!(deployment.dropParams ?? this.deps.settings.dropParams)) {
      throw new GatewayError(
        'unsupported_parameter',
        `${deployment.provider} does not support the parameter${unsupported.length > 1 ? 's' : ''} ${unsupported.map((key) => `"${key}"`).join(', ')}: remove ${unsupported.length > 1 ? 'them' : 'it'}, or set litellm_settings.drop_params: true to drop such parameters automatically`,
        { param: unsupported[0] },
      );
    }
    const kept: ChatRequest = { ...request };
    for (const key of unsupported) {
      delete kept[key];
      warnings.push(`dropped unsupported parameter "${key}" (${deployment.provider})`);
    }
    return kept;
  }

  private buildRequest(operation: Operation, adapter: ProviderAdapter, deployment: Deployment, warnings: string[]): UpstreamRequest {
    switch (operation.kind) {
      case 'chat':
        return adapter.buildChatRequest(this.applyParamPolicy(operation.request, adapter, deployment, warnings), deployment);
      case 'completion':
        if (!adapter.buildCompletionRequest) throw unsupported(deployment, '/v1/completions');
        return adapter.buildCompletionRequest(operation.request, deployment);
      case 'embeddings':
        if (!adapter.buildEmbeddingsRequest) throw unsupported(deployment, '/v1/embeddings');
        return adapter.buildEmbeddingsRequest(operation.request, deployment);
    }
  }

  /** Starts the upstream call with its timeout linked to the client's disconnect. */
  private async dispatch(context: CallContext, deployment: Deployment, upstreamRequest: UpstreamRequest, timeoutMs: number) {
    const controller = new AbortController();
    const abort = (error: GatewayError) => {
      if (!controller.signal.aborted) controller.abort(error);
    };
    const onClientGone = () => abort(clientGone());
    context.clientSignal.addEventListener('abort', onClientGone, { once: true });
    const timer = timeoutMs > 0 ? setTimeout(() => abort(timeoutError(deployment, timeoutMs)), timeoutMs) : undefined;
    const release = () => {
      clearTimeout(timer);
      context.clientSignal.removeEventListener('abort', onClientGone);
    };
    const sentAt = performance.now();
    try {
      const response = await this.deps.upstream.send(upstreamRequest, controller.signal, deployment.provider);
      return { response, sentAt, controller, abort, release, timer };
    } catch (error) {
      release();
      throw error;
    }
  }

  private async attemptOnce(context: CallContext, operation: Operation, deployment: Deployment, group: ModelGroup, attempt: number, format: ResponseFormat): Promise<GatewayResult> {
    const adapter = requireAdapter(deployment);
    const warnings: string[] = [];
    const upstreamRequest = this.buildRequest(operation, adapter, deployment, warnings);
    const { response, sentAt, release, controller } = await this.dispatch(context, deployment, upstreamRequest, deployment.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    let text: string;
    try {
      text = await response.body.text();
    } catch (error) {
      throw connectionError(error, deployment.provider, controller.signal);
    } finally {
      release();
    }
    const upstreamLatencyMs = performance.now() - sentAt;
    if (response.statusCode >= 400) throw this.upstreamError(adapter, deployment, response, text);

    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new GatewayError('upstream_invalid_response', `${deployment.provider} returned a body that is not JSON: ${text.slice(0, 200)}`, { provider: deployment.provider });
    }
    let body: string;
    let usage: Usage | undefined;
    if (operation.kind === 'embeddings') {
      const embeddings = adapter.parseEmbeddingsResponse ? adapter.parseEmbeddingsResponse(parsed, deployment) : parsed;
      usage = usageFromOpenAI((embeddings as { usage?: unknown }).usage);
      if (usage) usage.completionTokens ??= 0;
      body = embeddings === parsed ? text : JSON.stringify(embeddings);
    } else if (operation.kind === 'completion') {
      usage = usageFromOpenAI((parsed as { usage?: unknown }).usage);
      body = text;
    } else {
      const chat = adapter.parseChatResponse(parsed, deployment);
      usage = usageFromOpenAI(chat.usage);
      body = format.chat(chat, chat === parsed ? text : undefined);
    }
    const settlement = this.settle(deployment, usage, upstreamLatencyMs, null, attempt);
    this.record(context, { modelGroup: group.name, deployment, settlement, stream: false });
    return { kind: 'json', status: 200, headers: this.headers(context, group, settlement, performance.now() - context.startedAt - upstreamLatencyMs, warnings), body };
  }

  private async attemptStream(
    context: CallContext,
    operation: Extract<Operation, { kind: 'chat' | 'completion' }>,
    deployment: Deployment,
    group: ModelGroup,
    attempt: number,
    format: ResponseFormat,
  ): Promise<GatewayResult> {
    const adapter = requireAdapter(deployment);
    const warnings: string[] = [];
    const upstreamRequest = this.buildRequest(operation, adapter, deployment, warnings);
    const firstChunkTimeoutMs = deployment.streamTimeoutMs ?? deployment.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    // The whole-call timer is replaced by the stream's own first-chunk and idle timers below.
    const { response, sentAt, release, abort, timer } = await this.dispatch(context, deployment, upstreamRequest, firstChunkTimeoutMs);
    clearTimeout(timer);
    if (response.statusCode >= 400) {
      let text = '';
      try {
        text = await response.body.text();
      } catch {
        // the status alone is enough
      }
      release();
      throw this.upstreamError(adapter, deployment, response, text);
    }
    const timers: StreamTimers = { abort, firstChunkTimeoutMs, idleTimeoutMs: deployment.timeoutMs ?? DEFAULT_TIMEOUT_MS, provider: deployment.provider };
    const transform = adapter.createStreamTransform(deployment, operation.request as ChatRequest);
    let opened: Awaited<ReturnType<typeof UpstreamStream.open>>;
    try {
      opened = await UpstreamStream.open(response.body, transform, upstreamRequest.framing, timers);
    } catch (error) {
      release();
      throw error instanceof GatewayError ? error : connectionError(error, deployment.provider);
    }
    const overheadMs = sentAt - context.startedAt;
    const headers = this.headers(context, group, { deployment, usage: undefined, costMicros: undefined, upstreamLatencyMs: 0, timeToFirstTokenMs: null, retries: attempt }, overheadMs, warnings);
    const encoder = format.stream({ includeUsage: operation.request.stream_options?.include_usage === true });
    headers['content-type'] = encoder.contentType;
    headers['cache-control'] = 'no-cache';
    headers.connection = 'keep-alive';
    headers['x-accel-buffering'] = 'no';

    return {
      kind: 'stream',
      headers,
      pump: async (serverResponse) => {
        const outcome = await relayStream(opened.stream, opened.first, serverResponse, {
          encoder,
          startedAt: context.startedAt,
          now: () => performance.now(),
          estimateUsage: (completionText) => this.estimateUsage(operation, completionText),
        }, timers);
        release();
        const settlement = this.settle(deployment, outcome.usage, performance.now() - sentAt, outcome.firstChunkAt, attempt);
        const error = outcome.clientDisconnected ? clientGone() : outcome.error;
        if (error) this.deps.logger.warn({ callId: context.callId, deployment: deployment.id, code: error.code }, 'stream ended early');
        this.record(context, { modelGroup: group.name, deployment, settlement, error, stream: true });
      },
    };
  }

  private async estimateUsage(operation: Extract<Operation, { kind: 'chat' | 'completion' }>, completionText: string): Promise<Usage> {
    const promptTokens =
      operation.kind === 'chat'
        ? await countChatPromptTokens(operation.request.messages, operation.request.tools)
        : await countTextTokens(typeof operation.request.prompt === 'string' ? operation.request.prompt : JSON.stringify(operation.request.prompt));
    const completionTokens = await countTextTokens(completionText);
    return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens, estimated: true };
  }

  private upstreamError(adapter: ProviderAdapter, deployment: Deployment, response: UpstreamResponse, text: string): GatewayError {
    const info = adapter.parseError(response.statusCode, text, response.headers);
    const code =
      info.kind === 'context_window_exceeded' && response.statusCode < 500
        ? 'context_window_exceeded'
        : info.kind === 'content_policy_violation' && response.statusCode < 500
          ? 'content_policy_violation'
          : upstreamErrorCode(response.statusCode);
    const headers: Record<string, string> = {};
    if (info.retryAfterSeconds !== undefined) headers['retry-after'] = String(Math.ceil(info.retryAfterSeconds));
    return new GatewayError(code, `${deployment.provider} returned ${response.statusCode}: ${info.message}`, {
      upstreamStatus: response.statusCode,
      retryAfterSeconds: info.retryAfterSeconds,
      provider: deployment.provider,
      headers,
    });
  }

  private settle(deployment: Deployment, usage: Usage | undefined, upstreamLatencyMs: number, timeToFirstTokenMs: number | null, retries: number): Settlement {
    return { deployment, usage, costMicros: costMicros(usage, deployment.prices), upstreamLatencyMs, timeToFirstTokenMs, retries };
  }

  private headers(context: CallContext, group: ModelGroup, settlement: Settlement, overheadMs: number, warnings: string[]): Record<string, string> {
    const headers: Record<string, string> = {
      'x-switchboard-call-id': context.callId,
      'x-switchboard-model-group': group.name,
      'x-switchboard-model-id': settlement.deployment.id,
      'x-switchboard-provider': settlement.deployment.provider,
      'x-switchboard-overhead-ms': Math.max(0, overheadMs).toFixed(2),
      'x-switchboard-attempted-retries': String(settlement.retries),
    };
    if (settlement.costMicros !== undefined) headers['x-switchboard-response-cost'] = formatUsd(settlement.costMicros);
    if (warnings.length > 0) {
      headers['x-switchboard-warnings'] = warnings.join('; ');
      this.deps.logger.warn({ callId: context.callId, deployment: settlement.deployment.id, warnings }, 'request adjusted for the provider');
    }
    return headers;
  }

  private record(
    context: CallContext,
    outcome: { modelGroup: string | null; deployment: Deployment | undefined; settlement?: Settlement; error?: GatewayError; stream: boolean; retries?: number },
  ): void {
    if (context.recorded) return;
    context.recorded = true;
    const { settlement, error, deployment } = outcome;
    const usage = settlement?.usage;
    this.deps.usageWriter.enqueue({
      call_id: context.callId,
      created_at: context.startedAtEpochMs,
      endpoint: context.endpoint,
      key_hash: context.caller.keyHash,
      key_alias: context.caller.keyAlias,
      user_id: context.caller.userId,
      team_id: context.caller.teamId,
      model_group: outcome.modelGroup,
      deployment_id: deployment?.id ?? null,
      provider: deployment?.provider ?? null,
      upstream_model: deployment?.upstreamModel ?? null,
      stream: outcome.stream ? 1 : 0,
      prompt_tokens: usage?.promptTokens ?? null,
      completion_tokens: usage?.completionTokens ?? null,
      total_tokens: usage?.totalTokens ?? null,
      cached_tokens: usage?.cachedTokens ?? null,
      cache_creation_tokens: usage?.cacheCreationTokens ?? null,
      reasoning_tokens: usage?.reasoningTokens ?? null,
      tokens_estimated: usage?.estimated ? 1 : 0,
      cost_micros: settlement?.costMicros ?? null,
      latency_ms: Math.round(performance.now() - context.startedAt),
      time_to_first_token_ms: settlement?.timeToFirstTokenMs !== null && settlement?.timeToFirstTokenMs !== undefined ? Math.round(settlement.timeToFirstTokenMs) : null,
      upstream_latency_ms: settlement ? Math.round(settlement.upstreamLatencyMs) : null,
      status: error ? 'failure' : 'success',
      http_status: error ? error.status : 200,
      error_code: error?.code ?? null,
      error_message: error?.message.slice(0, 2000) ?? null,
      retries: settlement?.retries ?? outcome.retries ?? 0,
      fallbacks: 0,
      metadata: null,
    });
  }
}

function clientGone(): GatewayError {
  return new GatewayError('client_closed_request', 'the client closed the connection before the response was complete');
}

function timeoutError(deployment: Deployment, timeoutMs: number): GatewayError {
  return new GatewayError('upstream_timeout', `${deployment.provider} did not answer within ${timeoutMs / 1000}s (timeout of deployment ${deployment.id}); the call was cancelled`, { provider: deployment.provider });
}

function requireAdapter(deployment: Deployment): ProviderAdapter {
  const adapter = adapterFor(deployment.provider);
  if (!adapter) throw new GatewayError('model_unavailable', `provider ${deployment.provider} has no adapter`, { provider: deployment.provider });
  return adapter;
}

function unsupported(deployment: Deployment, endpoint: string): GatewayError {
  return new GatewayError('invalid_request', `model "${deployment.modelName}" (provider ${deployment.provider}) does not support ${endpoint}`, { param: 'model' });
}
