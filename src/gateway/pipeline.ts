/**
 * The request path (ARCHITECTURE.md): resolve model → plan deployments → attempt loop (build the
 * provider request, call upstream, parse or open the stream) → settle (usage → cost) → respond,
 * with the usage record queued off the response path. Nothing here awaits the database.
 */
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Admission, Ticket } from '../auth/admission.js';
import type { ResolvedKey } from '../auth/key-directory.js';
import { maxCostMicros } from '../billing/max-cost.js';
import { estimatedTokens } from '../billing/token-estimate.js';
import { assertModelAllowed, keyAliasTarget } from '../auth/model-access.js';
import { assertRequestFallbacksAllowed, ReachableModels } from '../auth/reachable-models.js';
import { costMicros, formatUsd } from '../billing/cost.js';
import { GatewayError, toGatewayError, upstreamErrorCode } from '../errors.js';
import { adapterFor } from '../providers/registry.js';
import type { ChatRequest, CompletionRequest, Deployment, EmbeddingsRequest, EmbeddingsResponse, ProviderAdapter, UpstreamRequest, Usage } from '../providers/types.js';
import { usageFromOpenAI } from '../providers/shared/usage.js';
import type { ModelCatalog, ModelGroup } from '../routing/catalog.js';
import { backoffMs, fallbackKindOf, maxStreamDurationOf, retriesFor, timeoutOf } from '../routing/policy.js';
import type { Router } from '../routing/router.js';
import type { UsageLogWriter } from '../observability/usage-log-writer.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { ClientConnection } from './client-connection.js';
import { openAIResponseFormat, type ResponseFormat } from './response-format.js';
import { modelNameForRecord } from './request-bounds.js';
import { relayStream, UpstreamStream, type StreamTimers } from './stream-relay.js';
import { countChatPromptTokens, countTextTokens } from './token-count.js';
import type { OpenStreams } from './open-streams.js';
import { StreamGuard } from './stream-guard.js';
import { settleUsage } from './settle-usage.js';
import { deploymentSecrets, redactUpstreamMessage, withRedactedMessage } from '../security/redact.js';
import { connectionError, UpstreamAbort, type UpstreamClient, type UpstreamResponse } from './upstream.js';
import type { CreditTicket } from '../platform/credit-gate.js';
import type { PlatformLayer } from '../platform/layer.js';
import type { PowerLevel } from '../platform/settings.js';

export type Endpoint = 'chat/completions' | 'completions' | 'embeddings' | 'messages';

export interface Caller {
  keyHash: string | null;
  /** The virtual key's stable id (null for the master key). */
  keyId?: string | null;
  keyAlias: string | null;
  userId: string | null;
  teamId: string | null;
  /** The master key, or a key whose user has the proxy_admin role. */
  isAdmin: boolean;
  /** The virtual key (with its user and team); absent for the master key. */
  principal?: ResolvedKey;
}

export interface CallContext {
  callId: string;
  /** performance.now() when the request arrived. */
  startedAt: number;
  startedAtEpochMs: number;
  endpoint: Endpoint;
  caller: Caller;
  /** Tells when the client goes away before the response is complete. */
  client: ClientConnection;
  /** Set once the call's usage record is queued, so that no call is recorded twice. */
  recorded: boolean;
  /** The admission of a virtual key's call (limits, budget reservation); settled with the record. */
  ticket?: Ticket;
  /** The X-Power-Level header, as sent (the platform layer parses it). */
  requestedPowerLevel?: string;
  /** The call's power level, once resolved (platform layer). */
  powerLevel?: PowerLevel;
  /** The credit reservation of a user's call (platform layer); settled with the record. */
  credits?: CreditTicket;
  /** True while the current attempt runs on the user's own provider key (BYOK). */
  byok?: boolean;
  /** The request's messages (or prompt, or input) as JSON; only set when prompts are stored. */
  promptForLog?: string;
}

export interface GatewaySettings {
  /** litellm_settings.drop_params: drop parameters a provider cannot take instead of refusing the call. */
  dropParams: boolean;
  /** general_settings.store_prompts_in_spend_logs: keep request messages and response text on the usage row. */
  storePrompts?: boolean;
}

/** Fields every adapter takes whatever its supportedParams say. */
const ALWAYS_SUPPORTED = new Set(['model', 'messages', 'stream', 'stream_options']);

export interface GatewayDependencies {
  catalog: ModelCatalog;
  upstream: UpstreamClient;
  usageWriter: UsageLogWriter;
  logger: Logger;
  router: Router;
  admission?: Admission;
  settings: GatewaySettings;
  /** Prometheus metrics (GET /metrics); each settled call is observed once. */
  metrics?: GatewayMetrics;
  /** Credits, power levels, BYOK (the `platform:` config section); absent, none of it applies. */
  platform?: PlatformLayer;
  /** Open streams of virtual keys, ended when their key is revoked; absent, streams are not watched. */
  openStreams?: OpenStreams;
}

export type GatewayResult =
  | { kind: 'json'; status: number; headers: Record<string, string>; body: string }
  | { kind: 'stream'; headers: Record<string, string>; pump(response: ServerResponse): Promise<void> };

/** Where the router is in one request: retries and fallbacks so far, groups found cooling down. */
interface Progress {
  retries: number;
  fallbacks: number;
  requested: string;
  lastDeployment: Deployment | undefined;
  cooling: ModelGroup[];
}

/** One upstream attempt: the deployment, the group it serves, and the router's progress so far. */
interface Attempt {
  deployment: Deployment;
  group: ModelGroup;
  retries: number;
  fallbacks: number;
  requested: string;
}

/** What one upstream attempt produced, for headers and the usage record. */
interface Settlement {
  attempt: Attempt;
  usage: Usage | undefined;
  costMicros: number | undefined;
  upstreamLatencyMs: number;
  timeToFirstTokenMs: number | null;
  /** The response text; only kept when prompts are stored. */
  responseText?: string;
  /** True when the upstream's reported usage was implausible and the local count replaced it. */
  usageAdjusted?: boolean;
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
    const { catalog } = this.deps;
    const stored = modelNameForRecord(modelGroup, (name) => catalog.resolve(name) !== undefined || catalog.disabledGroup(name) !== undefined);
    this.record(context, { modelGroup: stored, error, stream: false });
  }

  private async run(context: CallContext, operation: Operation, format: ResponseFormat): Promise<GatewayResult> {
    const principal = context.caller.principal;
    const { platform } = this.deps;
    let modelName = principal ? keyAliasTarget(principal, operation.request.model) : operation.request.model;
    if (this.deps.settings.storePrompts) context.promptForLog = promptOf(operation);
    const policy = this.deps.router.policy;
    let requested: ModelGroup;
    let reachable: ReachableModels;
    try {
      const split = splitRequestFallbacks(operation);
      operation = split.operation;
      if (platform) modelName = platform.resolveModel(context, operation.kind, operation.request as Record<string, unknown>, modelName, principal);
      if (principal) assertModelAllowed(principal, operation.request.model, modelName);
      requested = this.resolveGroup(modelName);
      assertRequestFallbacksAllowed(this.deps.catalog, principal, split.fallbacks);
      reachable = new ReachableModels({ catalog: this.deps.catalog, policy, principal, requested, requestFallbacks: split.fallbacks, logger: this.deps.logger, callId: context.callId });
      if (principal && (this.deps.admission || platform)) {
        const deployments = reachable.deployments();
        const input = { kind: operation.kind, body: operation.request as Record<string, unknown> };
        if (this.deps.admission) context.ticket = await this.deps.admission.admit(principal, context.callId, maxCostMicros(input, deployments), estimatedTokens(input));
        if (platform) await platform.reserveCredits(context, principal, input, deployments);
      }
    } catch (caught) {
      const error = toGatewayError(caught);
      this.recordRejected(context, error, modelName);
      throw error;
    }
    const stream = operation.kind !== 'embeddings' && operation.request.stream === true;
    const progress: Progress = { retries: 0, fallbacks: 0, requested: requested.name, lastDeployment: undefined, cooling: [] };
    let group = requested;
    let chain: string[] | undefined;
    let error: GatewayError;

    for (;;) {
      try {
        return await this.tryGroup(context, operation, format, group, stream, progress);
      } catch (caught) {
        error = toGatewayError(caught);
      }
      if (context.client.gone) break;
      const kind = fallbackKindOf(error);
      if (!kind) break;
      // The fallback list is the requested group's (or the request's own), chosen by the first failure's kind.
      chain ??= reachable.fallbackChain(kind);
      const next = this.nextFallback(chain, progress);
      if (!next) break;
      this.deps.logger.warn({ callId: context.callId, from: group.name, to: next.name, code: error.code }, 'falling back to another model group');
      progress.fallbacks++;
      group = next;
    }
    if (error.code === 'deployments_cooling_down' && progress.cooling.length > 1) error = this.coolingDownError(progress.cooling[0], progress);
    this.record(context, { modelGroup: group.name, deployment: progress.lastDeployment, error, stream, retries: progress.retries, fallbacks: progress.fallbacks, requested: progress.requested });
    throw error;
  }

  /** The next group of the fallback chain that exists and can be called. */
  private nextFallback(chain: string[], progress: Progress): ModelGroup | undefined {
    while (chain.length > 0) {
      const name = chain.shift()!;
      const group = this.deps.catalog.resolve(name);
      if (group && group.available.length > 0) return group;
      this.deps.logger.warn({ fallback: name }, 'fallback model group is not configured or unavailable; skipped');
    }
    return undefined;
  }

  /**
   * Attempts within one group: the ranked deployments in turn, retrying retryable failures up to
   * the retry policy, waiting (backoff, Retry-After) only before trying the same deployment again.
   */
  private async tryGroup(context: CallContext, operation: Operation, format: ResponseFormat, group: ModelGroup, stream: boolean, progress: Progress): Promise<GatewayResult> {
    const { router } = this.deps;
    const ranked = await router.rank(group, stream);
    if (ranked.length === 0) throw router.allDown(group) ? router.downError(group) : this.coolingDownError(group, progress);
    let deployment = await this.admitNext(ranked, 0, group, progress);
    let retriesHere = 0;
    for (;;) {
      const index = ranked.indexOf(deployment);
      progress.lastDeployment = deployment;
      const started = performance.now();
      try {
        const attempt: Attempt = { deployment, group, retries: progress.retries, fallbacks: progress.fallbacks, requested: progress.requested };
        return stream
          ? await this.attemptStream(context, operation as Extract<Operation, { kind: 'chat' | 'completion' }>, attempt, format)
          : await this.attemptOnce(context, operation, attempt, format);
      } catch (caught) {
        // Upstream I/O failures are GatewayErrors already; anything else is a bug, not the upstream's fault.
        if (!(caught instanceof GatewayError)) this.deps.logger.error({ err: caught, callId: context.callId, deployment: deployment.id }, 'attempt failed unexpectedly');
        const error = toGatewayError(caught);
        void router.recordFailure(deployment, error, performance.now() - started);
        if (context.client.gone || retriesHere >= retriesFor(router.policy, error)) throw error;
        this.deps.logger.warn({ callId: context.callId, deployment: deployment.id, provider: deployment.provider, code: error.code, status: error.status }, 'upstream attempt failed; retrying');
        const next = ranked.find((candidate, position) => position > index && router.coolingUntil(candidate) === undefined) ?? ranked.find((candidate) => router.coolingUntil(candidate) === undefined);
        if (!next) throw error;
        const wait = backoffMs(router.policy, error, retriesHere, next === deployment, Math.random);
        if (wait === undefined) throw error;
        if (wait > 0) await sleep(wait, context.client);
        if (context.client.gone) throw error;
        retriesHere++;
        progress.retries++;
        deployment = await this.admitNext(ranked, ranked.indexOf(next), group, progress);
      }
    }
  }

  /** The first deployment from `index` on (wrapping) that is not cooling down and admits the call. */
  private async admitNext(ranked: Deployment[], index: number, group: ModelGroup, progress: Progress): Promise<Deployment> {
    const { router } = this.deps;
    for (let offset = 0; offset < ranked.length; offset++) {
      const candidate = ranked[(index + offset) % ranked.length];
      if (router.coolingUntil(candidate) !== undefined) continue;
      if (await router.admit(candidate)) return candidate;
    }
    if (ranked.every((candidate) => router.coolingUntil(candidate) !== undefined)) throw this.coolingDownError(group, progress);
    throw new GatewayError('deployments_at_capacity', `model group "${group.name}": every deployment is at its rpm/tpm limit for this minute; retry after the minute turns`, {
      retryAfterSeconds: 60 - (Math.floor(Date.now() / 1000) % 60),
      headers: { 'retry-after': String(60 - (Math.floor(Date.now() / 1000) % 60)) },
    });
  }

  /** 503 naming the group (and the fallbacks tried) and when its first deployment frees up. */
  private coolingDownError(group: ModelGroup, progress: Progress | undefined): GatewayError {
    if (progress && !progress.cooling.includes(group)) progress.cooling.push(group);
    const groups = progress?.cooling.length ? progress.cooling : [group];
    const releases = groups.map((candidate) => this.deps.router.earliestRelease(candidate)).filter((time): time is number => time !== undefined);
    const release = releases.length > 0 ? Math.min(...releases) : Date.now();
    const seconds = Math.max(1, Math.ceil((release - Date.now()) / 1000));
    const label = groups.length > 1 ? `model group "${groups[0].name}" and its fallbacks (${groups.slice(1).map((item) => `"${item.name}"`).join(', ')})` : `model group "${groups[0].name}"`;
    return new GatewayError('deployments_cooling_down', `${label}: every deployment is cooling down after repeated failures; the first frees up in ${seconds}s (at ${new Date(release).toISOString()})`, {
      retryAfterSeconds: seconds,
      headers: { 'retry-after': String(seconds) },
    });
  }

  private resolveGroup(model: string): ModelGroup {
    const group = this.deps.catalog.resolve(model);
    if (!group) {
      const disabled = this.deps.catalog.disabledGroup(model);
      if (disabled) throw new GatewayError('model_disabled', `model "${model}" is disabled on this gateway by an operator; GET /v1/models lists the models you can use`, { param: 'model' });
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
    const controller = new UpstreamAbort();
    const abort = (error: GatewayError) => controller.abort(error);
    const stopListening = context.client.onGone(() => abort(clientGone()));
    const timer = timeoutMs > 0 ? setTimeout(() => abort(timeoutError(deployment, timeoutMs)), timeoutMs) : undefined;
    const release = () => {
      clearTimeout(timer);
      stopListening();
    };
    const sentAt = performance.now();
    try {
      const response = await this.deps.upstream.send(upstreamRequest, controller, deployment.provider);
      return { response, sentAt, controller, abort, release, timer };
    } catch (error) {
      release();
      throw error;
    }
  }

  private async attemptOnce(context: CallContext, operation: Operation, attempt: Attempt, format: ResponseFormat): Promise<GatewayResult> {
    const { deployment } = attempt;
    const adapter = requireAdapter(deployment);
    const warnings: string[] = [];
    const upstreamRequest = this.buildRequest(operation, adapter, this.deps.platform?.upstreamTarget(context, deployment) ?? deployment, warnings);
    const { router } = this.deps;
    router.begin(deployment);
    let text: string;
    let response: UpstreamResponse;
    let sentAt: number;
    try {
      const dispatched = await this.dispatch(context, deployment, upstreamRequest, timeoutOf(this.deps.router.policy, deployment, DEFAULT_TIMEOUT_MS));
      ({ response, sentAt } = dispatched);
      try {
        text = await response.body.text();
      } catch (error) {
        throw connectionError(error, deployment.provider, dispatched.controller);
      } finally {
        dispatched.release();
      }
    } finally {
      router.end(deployment);
    }
    const upstreamLatencyMs = performance.now() - sentAt;
    if (response.statusCode >= 400) throw this.upstreamError(adapter, deployment, response, text, context.byok);

    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new GatewayError('upstream_invalid_response', `${deployment.provider} returned a body that is not JSON: ${redactUpstreamMessage(text, deploymentSecrets(deployment), 200)}`, { provider: deployment.provider });
    }
    let body: string;
    let usage: Usage | undefined;
    if (operation.kind === 'embeddings') {
      const embeddings = adapter.parseEmbeddingsResponse ? encodeEmbeddings(adapter.parseEmbeddingsResponse(parsed, deployment, operation.request), operation.request) : parsed;
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
    const settlement = await this.settle(context, operation, attempt, usage, upstreamLatencyMs, null, () => (operation.kind === 'embeddings' ? '' : responseTextOf(parsed)));
    router.recordSuccess(deployment, upstreamLatencyMs, undefined, settlement.usage);
    if (this.deps.settings.storePrompts && operation.kind !== 'embeddings') settlement.responseText = responseTextOf(parsed);
    this.record(context, { settlement, stream: false });
    const headers = this.headers(context, settlement, performance.now() - context.startedAt - upstreamLatencyMs, warnings);
    if (this.deps.platform) body = await this.deps.platform.finish(context, { deployment, costMicros: settlement.costMicros }, headers, body, operation.kind === 'chat' && format === openAIResponseFormat);
    return { kind: 'json', status: 200, headers, body };
  }

  private async attemptStream(context: CallContext, operation: Extract<Operation, { kind: 'chat' | 'completion' }>, attempt: Attempt, format: ResponseFormat): Promise<GatewayResult> {
    const { deployment } = attempt;
    const { router } = this.deps;
    const adapter = requireAdapter(deployment);
    const warnings: string[] = [];
    const upstreamRequest = this.buildRequest(operation, adapter, this.deps.platform?.upstreamTarget(context, deployment) ?? deployment, warnings);
    const firstChunkTimeoutMs = deployment.streamTimeoutMs ?? timeoutOf(this.deps.router.policy, deployment, DEFAULT_TIMEOUT_MS);
    const encoder = format.stream({ includeUsage: operation.request.stream_options?.include_usage === true });
    router.begin(deployment);
    let opened: Awaited<ReturnType<typeof UpstreamStream.open>>;
    let dispatched: Awaited<ReturnType<Gateway['dispatch']>>;
    let timers: StreamTimers;
    try {
      // The first-chunk timer covers headers and the first chunk; then the idle timer takes over.
      dispatched = await this.dispatch(context, deployment, upstreamRequest, firstChunkTimeoutMs);
      clearTimeout(dispatched.timer);
      const { response } = dispatched;
      if (response.statusCode >= 400) {
        let text = '';
        try {
          text = await response.body.text();
        } catch {
          // the status alone is enough
        }
        dispatched.release();
        throw this.upstreamError(adapter, deployment, response, text, context.byok);
      }
      timers = { abort: dispatched.abort, firstChunkTimeoutMs, idleTimeoutMs: timeoutOf(this.deps.router.policy, deployment, DEFAULT_TIMEOUT_MS), provider: deployment.provider };
      try {
        opened = await UpstreamStream.open(response.body, adapter.createStreamTransform(deployment, operation.request as ChatRequest), upstreamRequest.framing, timers, {
          forwardRuns: encoder.forwardsSse === true,
        });
      } catch (error) {
        dispatched.release();
        throw error instanceof GatewayError ? error : connectionError(error, deployment.provider);
      }
    } catch (error) {
      router.end(deployment);
      throw error;
    }
    const { sentAt } = dispatched;
    const headers = this.headers(context, { attempt, usage: undefined, costMicros: undefined, upstreamLatencyMs: 0, timeToFirstTokenMs: null }, sentAt - context.startedAt, warnings);
    this.deps.platform?.streamHeaders(context, headers);
    headers['content-type'] = encoder.contentType;
    headers['cache-control'] = 'no-cache';
    headers.connection = 'keep-alive';
    headers['x-accel-buffering'] = 'no';

    return {
      kind: 'stream',
      headers,
      pump: async (serverResponse) => {
        const guard = new StreamGuard({
          abort: dispatched.abort,
          response: serverResponse,
          provider: deployment.provider,
          maxDurationMs: maxStreamDurationOf(router.policy, deployment, DEFAULT_TIMEOUT_MS),
          elapsedMs: performance.now() - sentAt,
          keyHash: context.caller.principal ? context.caller.keyHash : null,
          openStreams: this.deps.openStreams,
        });
        let outcome: Awaited<ReturnType<typeof relayStream>>;
        try {
          outcome = await relayStream(opened.stream, opened.first, serverResponse, {
            encoder,
            startedAt: context.startedAt,
            now: () => performance.now(),
            estimateUsage: (completionText) => this.estimateUsage(operation, completionText),
            readingEnded: () => guard.finish(),
          }, timers);
        } finally {
          guard.release();
          dispatched.release();
          router.end(deployment);
        }
        const upstreamLatencyMs = performance.now() - sentAt;
        // A stream the gateway cut (duration cap, key revoked) is neither the client's doing nor the deployment's failure.
        const { cut } = outcome;
        const error = cut ?? (outcome.clientDisconnected ? clientGone() : outcome.error);
        const settlement = await this.settle(context, operation, attempt, outcome.usage, upstreamLatencyMs, outcome.firstChunkAt, () => opened.stream.text);
        if (error) {
          this.deps.logger.warn({ callId: context.callId, deployment: deployment.id, code: error.code }, 'stream ended early');
          // A stream that broke mid-way is the deployment's failure (for cooldowns) too.
          if (!cut) void router.recordFailure(deployment, error, upstreamLatencyMs);
        } else {
          router.recordSuccess(deployment, upstreamLatencyMs, outcome.firstChunkAt - (sentAt - context.startedAt), settlement.usage);
        }
        if (this.deps.settings.storePrompts) settlement.responseText = opened.stream.text;
        this.record(context, { settlement, error, stream: true, aborted: cut !== undefined || outcome.clientDisconnected });
      },
    };
  }

  private async estimateUsage(operation: Operation, completionText: string): Promise<Usage> {
    const promptTokens =
      operation.kind === 'chat'
        ? await countChatPromptTokens(operation.request.messages, operation.request.tools)
        : operation.kind === 'completion'
          ? await countTextTokens(typeof operation.request.prompt === 'string' ? operation.request.prompt : JSON.stringify(operation.request.prompt))
          : await countTextTokens(typeof operation.request.input === 'string' ? operation.request.input : JSON.stringify(operation.request.input));
    const completionTokens = await countTextTokens(completionText);
    return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens, estimated: true };
  }

  private upstreamError(adapter: ProviderAdapter, deployment: Deployment, response: UpstreamResponse, text: string, byok = false): GatewayError {
    const info = withRedactedMessage(adapter.parseError(response.statusCode, text, response.headers), deploymentSecrets(deployment));
    if (byok && (response.statusCode === 401 || response.statusCode === 403)) {
      return new GatewayError('byok_key_rejected', `${deployment.provider} rejected your own ${deployment.provider} API key (bring-your-own-key) with ${response.statusCode}: ${info.message}. Update it with POST /api/v1/llm/byok/keys or delete it to use the platform's key`, {
        upstreamStatus: response.statusCode,
        provider: deployment.provider,
      });
    }
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
      retryable: info.retryable,
    });
  }

  /**
   * Usage → cost. Reported usage beyond what the request could produce is replaced by the local
   * count (billing/usage-bounds.ts), logged and counted; `completionText` is read only then.
   */
  private async settle(context: CallContext, operation: Operation, attempt: Attempt, reported: Usage | undefined, upstreamLatencyMs: number, timeToFirstTokenMs: number | null, completionText: () => string): Promise<Settlement> {
    const { deployment } = attempt;
    const { usage, adjusted } = await settleUsage({ kind: operation.kind, body: operation.request as Record<string, unknown> }, deployment, reported, () => this.estimateUsage(operation, completionText()));
    if (adjusted.length > 0) {
      this.deps.logger.warn({ callId: context.callId, deployment: deployment.id, provider: deployment.provider, reported, billed: usage, adjusted }, 'upstream reported usage beyond what the request could produce; billed on the local count');
      this.deps.metrics?.usageAdjusted.inc({ provider: deployment.provider });
    }
    return { attempt, usage, costMicros: costMicros(usage, deployment.prices), upstreamLatencyMs, timeToFirstTokenMs, usageAdjusted: adjusted.length > 0 };
  }

  private headers(context: CallContext, settlement: Settlement, overheadMs: number, warnings: string[]): Record<string, string> {
    const { attempt } = settlement;
    const headers: Record<string, string> = {
      'x-switchboard-call-id': context.callId,
      'x-switchboard-model-group': attempt.group.name,
      'x-switchboard-model-id': attempt.deployment.id,
      'x-switchboard-provider': attempt.deployment.provider,
      'x-switchboard-overhead-ms': Math.max(0, overheadMs).toFixed(2),
      'x-switchboard-attempted-retries': String(attempt.retries),
      'x-switchboard-attempted-fallbacks': String(attempt.fallbacks),
    };
    if (settlement.costMicros !== undefined) headers['x-switchboard-response-cost'] = formatUsd(settlement.costMicros);
    if (context.ticket) Object.assign(headers, context.ticket.headers);
    if (warnings.length > 0) {
      headers['x-switchboard-warnings'] = warnings.join('; ');
      this.deps.logger.warn({ callId: context.callId, deployment: attempt.deployment.id, warnings }, 'request adjusted for the provider');
    }
    return headers;
  }

  /**
   * Queues the call's one usage record. Successful and failed attempts that reached a deployment
   * pass their settlement; calls rejected earlier pass what is known.
   */
  private record(
    context: CallContext,
    outcome: {
      settlement?: Settlement;
      error?: GatewayError;
      stream: boolean;
      /** The client went away, or the gateway cut the stream: only what was produced is billed. */
      aborted?: boolean;
      modelGroup?: string | null;
      deployment?: Deployment;
      retries?: number;
      fallbacks?: number;
      requested?: string;
    },
  ): void {
    if (context.recorded) return;
    context.recorded = true;
    const { settlement, error } = outcome;
    const attempt = settlement?.attempt;
    const deployment = attempt?.deployment ?? outcome.deployment;
    const usage = settlement?.usage;
    // A call the provider answered on the user's own key (BYOK) is never billed: no budget spend, no credits.
    const byok = context.byok === true && settlement !== undefined;
    const billedMicros = byok ? undefined : settlement?.costMicros;
    context.ticket?.settle(billedMicros, usage?.totalTokens ?? (usage?.promptTokens ?? 0) + (usage?.completionTokens ?? 0));
    const powerLevel = this.deps.platform?.chargedLevel(context);
    const credits = context.credits?.settle(billedMicros, { level: powerLevel });
    const modelGroup = attempt?.group.name ?? outcome.modelGroup ?? null;
    const requested = attempt?.requested ?? outcome.requested;
    const latencyMs = performance.now() - context.startedAt;
    const retries = attempt?.retries ?? outcome.retries ?? 0;
    const fallbacks = attempt?.fallbacks ?? outcome.fallbacks ?? 0;
    this.deps.metrics?.observeCall({
      modelGroup,
      deployment,
      keyAlias: context.caller.keyAlias,
      status: error ? error.status : 200,
      failed: error !== undefined,
      usage,
      costMicros: settlement?.costMicros,
      latencyMs,
      upstreamLatencyMs: settlement?.upstreamLatencyMs,
      timeToFirstTokenMs: settlement?.timeToFirstTokenMs,
      retries,
      fallbacks,
    });
    this.deps.usageWriter.enqueue({
      call_id: context.callId,
      created_at: context.startedAtEpochMs,
      endpoint: context.endpoint,
      key_hash: context.caller.keyHash,
      key_id: context.caller.keyId ?? null,
      key_alias: context.caller.keyAlias,
      user_id: context.caller.userId,
      team_id: context.caller.teamId,
      model_group: modelGroup,
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
      latency_ms: Math.round(latencyMs),
      time_to_first_token_ms: settlement?.timeToFirstTokenMs != null ? Math.round(settlement.timeToFirstTokenMs) : null,
      upstream_latency_ms: settlement ? Math.round(settlement.upstreamLatencyMs) : null,
      status: error ? 'failure' : 'success',
      http_status: error ? error.status : 200,
      error_code: error?.code ?? null,
      error_message: error?.message.slice(0, 2000) ?? null,
      retries,
      fallbacks,
      metadata: requested && requested !== modelGroup ? JSON.stringify({ requested_model: requested }) : null,
      byok: byok ? 1 : 0,
      credits_millicredits: credits ? credits.charged : null,
      power_level: powerLevel ?? null,
      messages: context.promptForLog ?? null,
      response: settlement?.responseText ?? null,
      aborted: outcome.aborted || error?.code === 'client_closed_request' ? 1 : 0,
      usage_adjusted: settlement?.usageAdjusted ? 1 : 0,
    });
  }
}

/** What the client sent, for the usage row when prompts are stored. */
function promptOf(operation: Operation): string {
  switch (operation.kind) {
    case 'chat':
      return JSON.stringify(operation.request.messages ?? null);
    case 'completion':
      return JSON.stringify(operation.request.prompt ?? null);
    case 'embeddings':
      return JSON.stringify(operation.request.input ?? null);
  }
}

/** The text of a chat or legacy completion response (message content, tool calls, or text). */
function responseTextOf(parsed: unknown): string {
  const choices = (parsed as { choices?: unknown }).choices;
  if (!Array.isArray(choices)) return '';
  let text = '';
  for (const choice of choices as Array<{ message?: { content?: unknown; tool_calls?: Array<{ function?: { name?: string; arguments?: string } }> }; text?: unknown }>) {
    const content = choice.message?.content;
    if (typeof content === 'string') text += content;
    else if (Array.isArray(content)) for (const part of content as Array<{ text?: unknown }>) if (typeof part?.text === 'string') text += part.text;
    if (typeof choice.text === 'string') text += choice.text;
    for (const call of choice.message?.tool_calls ?? []) text += (call.function?.name ?? '') + (call.function?.arguments ?? '');
  }
  return text;
}

/**
 * Per-request fallbacks (LiteLLM's `fallbacks` body field), and the operation on a copy of the body
 * without them, so the upstream never sees the field and the client's body is left as it was.
 */
function splitRequestFallbacks(operation: Operation): { operation: Operation; fallbacks: string[] | undefined } {
  const { fallbacks: value, ...rest } = operation.request as Record<string, unknown>;
  const copy = { ...operation, request: rest } as Operation;
  if (value === undefined || value === null) return { operation: copy, fallbacks: undefined };
  if (!Array.isArray(value)) throw new GatewayError('invalid_request', '"fallbacks" must be an array of model names', { param: 'fallbacks' });
  const fallbacks = value.map((item, index) => {
    if (typeof item === 'string') return item;
    if (typeof item === 'object' && item !== null && typeof (item as { model?: unknown }).model === 'string') return (item as { model: string }).model;
    throw new GatewayError('invalid_request', `fallbacks[${index}] must be a model name`, { param: 'fallbacks' });
  });
  return { operation: copy, fallbacks };
}

/**
 * Native adapters return float arrays; a client that asked for base64 (the official SDKs do by
 * default) gets OpenAI's encoding: little-endian float32, base64.
 */
function encodeEmbeddings(response: EmbeddingsResponse, request: EmbeddingsRequest): EmbeddingsResponse {
  if (request.encoding_format !== 'base64') return response;
  return {
    ...response,
    data: response.data.map((item) => (Array.isArray(item.embedding) ? { ...item, embedding: Buffer.from(new Float32Array(item.embedding).buffer).toString('base64') } : item)),
  };
}

/** Waits, or stops waiting when the client goes. */
function sleep(ms: number, client: ClientConnection): Promise<void> {
  return new Promise((resolve) => {
    let stopListening = () => undefined as void;
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      stopListening();
      resolve();
    }
    stopListening = client.onGone(done);
  });
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
