/**
 * Builds the Fastify app from injected dependencies. No I/O happens at import or build time; the
 * caller (cli.ts, or a test) owns listening and shutdown.
 */
import type { BlockList } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, type HTTPMethods } from 'fastify';
import type { Logger } from 'pino';
import type { Authenticator } from './auth/authenticator.js';
import { assertProxyRoutes, assertRouteAllowed, routePath, type ProxyRoutes } from './auth/allowed-routes.js';
import { toGatewayError } from './errors.js';
import type { ManagementService } from './auth/management.js';
import { registerManagementRoutes } from './http/routes/management.js';
import { endUserFromHeaders } from './gateway/end-user.js';
import type { CustomerService } from './auth/customers.js';
import type { BudgetService } from './auth/budget-objects.js';
import { registerBudgetRoutes } from './http/routes/budgets.js';
import { registerCustomerRoutes } from './http/routes/customers.js';
import { registerKeyRoutes } from './http/routes/keys.js';
import type { KeyGenerateParams } from './config/key-generate-params.js';
import type { KeyGenerationSettings } from './config/key-generation-settings.js';
import type { UserDefaults } from './config/user-defaults.js';
import { requiredParamsHook, type RequiredParams } from './http/required-params.js';
import { allowedIpsHook } from './http/allowed-ips.js';
import { clientTagsHook } from './http/client-tags.js';
import { globalParallelHook, type GlobalParallelLimit } from './http/global-parallel.js';
import { registerLitellmModelInfoRoutes } from './http/routes/litellm-model-info.js';
import { registerLitellmSpendRoutes } from './http/routes/litellm-spend.js';
import { registerLitellmSpendReportRoute } from './http/routes/litellm-spend-report.js';
import { newCallId } from './gateway/call-id.js';
import { ClientConnection } from './gateway/client-connection.js';
import type { Caller } from './auth/caller.js';
import type { CallContext, EveryField } from './gateway/call-context.js';
import type { Gateway } from './gateway/pipeline.js';
import type { UpstreamClient } from './gateway/upstream.js';
import './http/context.js';
import { answerClientError, answerFrameworkError, installErrorHandling, MAX_PATH_PARAMETER_CHARS, sendError } from './http/error-handler.js';
import { parseJsonBody } from './http/json-body.js';
import { readBodyText } from './http/encoded-body.js';
import { registerHealthRoutes } from './http/routes/health.js';
import { registerMetricsRoutes } from './http/routes/metrics.js';
import { registerSpendRoutes } from './http/routes/spend.js';
import type { SpendReportRepository } from './storage/repositories/spend-reports.js';
import type { GatewayMetrics } from './observability/metrics.js';
import { registerAnthropicRoutes } from './http/routes/anthropic.js';
import { registerGeminiRoutes, withGoogleKey } from './http/routes/gemini.js';
import { registerAnthropicNativeRoutes } from './http/routes/anthropic-native.js';
import { registerOpenAIMediaRoutes } from './http/routes/openai-media.js';
import { registerPassThroughRoutes } from './http/routes/pass-through.js';
import type { PassThroughEndpoint } from './config/schema.js';
import { registerOpenAIRoutes } from './http/routes/openai.js';
import { registerResponsesRoutes } from './http/routes/responses.js';
import type { ResponseStore } from './responses/response-store.js';
import { registerRouterSettingsRoutes } from './http/routes/router-settings.js';
import type { RouterSettingsStore } from './routing/router-settings-store.js';
import { registerUiRoutes } from './http/routes/ui.js';
import type { RouterPolicy } from './routing/policy.js';
import type { ModelCatalog } from './routing/catalog.js';
import type { DatabaseState } from './runtime/database-state.js';
import { registerPlatformRoutes, type PlatformRouteDependencies } from './http/routes/platform.js';
import type { PlatformLayer } from './platform/layer.js';
import type { StripePurchases } from './platform/stripe-purchases.js';
import { registerCreditPurchaseRoutes } from './http/routes/credit-purchases.js';
import { DEFAULT_ROLE_PERMISSIONS, type Permission } from './auth/permissions.js';
import type { HealthMonitor } from './routing/health-monitor.js';
import type { ModelRegistry } from './routing/model-registry.js';
import { registerModelRoutes } from './http/routes/models.js';
import { registerBackendRoutes, type BackendRouteDependencies } from './http/routes/backends.js';
import { presentsAdminKey } from './http/admin-view.js';
import { limitConnectionsPerAddress } from './http/connection-limits.js';
import { closeConnectionIfBodyUnread } from './http/early-refusal.js';
import type { ListenerSettings } from './http/listener-settings.js';
import { registerCacheRoutes } from './http/routes/cache.js';
import type { ResponseCache } from './cache/response-cache.js';
import { registerAgentRoutes, type AgentRouteDependencies } from './http/routes/agents.js';
import { registerGuardrailRoutes } from './http/routes/guardrails.js';
import type { GuardrailRegistry } from './guardrails/registry.js';
import { safeHeaderValue } from './http/header-value.js';
import { ignoredQueryParameters } from './parse-input.js';

export interface ServerDependencies {
  /** litellm_settings.upperbound_key_generate_params / default_key_generate_params, for the key routes. */
  keyGenerateParams?: KeyGenerateParams;
  /** litellm_settings.key_generation_settings: who may create which keys on /key/generate. */
  keyGenerationSettings?: KeyGenerationSettings | null;
  /** general_settings.default_team_disabled: only admins create personal keys. */
  defaultTeamDisabled?: boolean;
  /** litellm_settings.default_internal_user_params, max_internal_user_budget, internal_user_budget_duration: what /user/new fills in. */
  userDefaults?: UserDefaults;
  /** general_settings.user_header_name: the header naming the end user a call is made for. */
  endUserHeader?: string;
  /** general_settings.allowed_ips: the only client addresses served (http/allowed-ips.ts); absent, no check. */
  allowedIps?: BlockList;
  /** general_settings.allowed_routes / admin_only_routes: routes every non-master caller, or every non-admin, is kept from (auth/allowed-routes.ts). */
  proxyRoutes?: ProxyRoutes;
  /** general_settings.enforce_user_param / enforced_params: what a virtual key's model call must carry (http/required-params.ts). */
  requiredParams?: RequiredParams;
  /** Budget objects (/budget/*) and customers (/customer/*, /end_user/*). */
  budgets?: () => BudgetService;
  customers?: () => CustomerService;
  /** True once a shutdown began: readiness answers 503 so load balancers stop sending. */
  isDraining?: () => boolean;
  /** With Redis: true while it does not answer (readiness says "degraded", still 200). */
  sharedStateDegraded?: () => boolean;
  /** True while virtual keys wait for spilled usage rows to be written back (readiness 503). */
  keysWaitForSpill?: () => boolean;
  gateway: Gateway;
  catalog: ModelCatalog;
  authenticator: Authenticator;
  upstream: UpstreamClient;
  database: DatabaseState;
  logger: Logger;
  bodyLimitBytes: number;
  healthCheckTimeoutMs: number;
  /** Key, user and team management; throws 503 until the database is ready. */
  management: () => ManagementService;
  /** GET /metrics (Prometheus); absent, the route is not served. */
  metrics?: GatewayMetrics;
  /** general_settings.metrics_public: /metrics needs no key. */
  metricsPublic?: boolean;
  /** The `platform:` section's layer (credits, power levels, BYOK); absent, it is off. */
  platform?: PlatformLayer;
  /** Which roles hold which permissions (platform.roles, else the defaults). */
  roles?: Record<string, readonly Permission[]>;
  /** Storage the /api/v1/llm routes use (each throws 503 until the database is ready). */
  platformStorage?: Pick<PlatformRouteDependencies, 'credits' | 'principals' | 'invalidatePrincipals'>;
  /** Buying credits through Stripe (platform.stripe); absent, those routes answer 404. */
  purchases?: StripePurchases;
  /** Runtime model management (/model/*); absent, those routes are not served. */
  models?: ModelRegistry;
  /** Deployment health monitor (GET /health/providers, POST /health/check). */
  health?: HealthMonitor;
  /** Local inference servers (GET /backends, pulls and removals); absent, those routes are not served. */
  backends?: BackendRouteDependencies;
  /** The spend API (/spend/logs, /global/spend/report, …); throws 503 until the database is ready. */
  spendReports?: () => SpendReportRepository;
  /** The router's effective settings, for GET /router/settings (absent: the route is not served). */
  routerPolicy?: () => RouterPolicy;
  /** Run-time router settings (PATCH/DELETE /router/settings, POST /config/update); absent: read-only. */
  routerSettings?: RouterSettingsStore;
  /** The built admin UI served at /ui (default: dist/ui of this package, or SWITCHBOARD_UI_DIR). */
  uiDirectory?: string;
  /** The configured guardrails (GET /guardrails/list); absent, the list is empty. */
  guardrails?: GuardrailRegistry;
  /** Agents (/agents/*); absent, those routes are not served. */
  agents?: AgentRouteDependencies;
  /** Request timeouts, keep-alive and connections per address (absent: Node's and Fastify's defaults). */
  listener?: ListenerSettings;
  /** The response cache, for /cache/ping, /cache/delete and /cache/flushall. */
  cache?: ResponseCache;
  /** Stored responses of /v1/responses; absent, the Responses API is not served. */
  responses?: ResponseStore;
  /** general_settings.pass_through_endpoints, with the environment their header references read. */
  /** `proxyBudget`: litellm_settings.max_budget holds every virtual key to money (pass-through refuses them). */
  passThrough?: { endpoints: PassThroughEndpoint[]; env: Record<string, string | undefined>; proxyBudget?: boolean; keyHeader?: string };
  /** `start --workers N` (N > 1): this worker's number, sent as x-switchboard-worker on every response. */
  workerIndex?: number;
  /** general_settings.global_max_parallel_requests: model calls this process lets be in flight (http/global-parallel.ts); absent, no hook. */
  globalParallel?: GlobalParallelLimit;
  /** general_settings.reject_clientside_metadata_tags: a virtual key's model call may not send tags (gateway/request-options.ts). */
  rejectClientTags?: boolean;
}

export async function buildServer(deps: ServerDependencies): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Per-request log lines cost throughput; errors and upstream failures are logged where they happen.
    logController: new LogController({ disableRequestLogging: true }),
    // No per-request child logger: building one (with redaction) costs more than the request
    // logging it serves, which is off; log lines carry the call id instead.
    childLoggerFactory: (logger) => logger,
    bodyLimit: deps.bodyLimitBytes,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Time-ordered (UUIDv7): usage rows append to the call_id index instead of scattering (call-id.ts).
    genReqId: () => newCallId(),
    // What the router and Node's HTTP parser refuse is answered in an error envelope too (error-handler.ts).
    frameworkErrors: answerFrameworkError,
    clientErrorHandler: answerClientError,
    routerOptions: { maxParamLength: MAX_PATH_PARAMETER_CHARS },
    ...listenerOptions(deps.listener),
  });
  if (deps.listener) limitConnectionsPerAddress(app, deps.listener.maxConnectionsPerAddress, deps.logger);

  // Plain JSON.parse is several times faster than the prototype-poisoning-safe parser; bodies are
  // only ever read as data (spread, never merged into prototypes). Any content type is read as JSON,
  // as LiteLLM does, so clients that forget the header still work. Too deep a nesting is refused
  // before parsing (json-body.ts). A gzip, deflate or br body is decompressed, within the same
  // size limit; any other Content-Encoding is refused (encoded-body.ts).
  const parseJson = (request: FastifyRequest, payload: Readable, done: (error: Error | null, value?: unknown) => void) => {
    readBodyText(request.headers, payload, deps.bodyLimitBytes, (failure, body) => {
      if (failure) {
        done(failure);
        return;
      }
      let parsed: unknown;
      try {
        parsed = parseJsonBody(body!);
      } catch (error) {
        done(error as Error);
        return;
      }
      done(null, parsed);
    });
  };
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', parseJson);
  app.addContentTypeParser('*', parseJson);

  app.decorateRequest('call', null);
  // Query parameters no schema of a GET or DELETE route read are named in x-switchboard-warnings
  // (accepted without effect, never silently); the model routes are POSTs and carry no such hook.
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!methods.some((method) => method === 'GET' || method === 'DELETE')) return;
    const earlier = route.onSend === undefined ? [] : Array.isArray(route.onSend) ? route.onSend : [route.onSend];
    route.onSend = [...earlier, warnIgnoredQuery] as typeof route.onSend;
  });
  // Only with allowed_ips configured, and ahead of authentication: nothing on the request path otherwise.
  if (deps.allowedIps) app.addHook('onRequest', allowedIpsHook(deps.allowedIps));
  if (deps.workerIndex !== undefined) {
    const worker = String(deps.workerIndex);
    // On the raw response: the model routes write their head straight to it (sendResult).
    app.addHook('onRequest', (_request, reply, done) => {
      reply.raw.setHeader('x-switchboard-worker', worker);
      done();
    });
  }
  app.decorate('rolePermissions', deps.roles ?? DEFAULT_ROLE_PERMISSIONS);
  // Callback style, and synchronous when the key is the master key or a cached virtual key (nearly
  // every request): no promise or extra microtask on the request path unless a key must be loaded.
  const proxyRoutes = deps.proxyRoutes;
  app.addHook('onRequest', (request, reply, done) => {
    const config = request.routeOptions.config;
    if (config.public) {
      done();
      return;
    }
    const client = new ClientConnection();
    const call = {
      // Fastify's request id is already a fresh call id (genReqId): it is the call id too.
      callId: request.id,
      startedAt: performance.now(),
      startedAtEpochMs: Date.now(),
      endpoint: config.endpointOf?.(request.url) ?? config.endpoint ?? 'chat/completions',
      caller: { keyHash: null, keyAlias: null, userId: null, teamId: null, isAdmin: false },
      client,
      recorded: config.endpoint === undefined,
      // Every optional field present from the start (set later in place): one shape for every call's context.
      unansweredReads: undefined,
      requestedPowerLevel: undefined,
      agentExecution: undefined,
      requestedTask: undefined,
      endUser: undefined,
      requestTags: undefined,
      requesterIp: request.ip,
      traceparent: undefined,
      trace: undefined,
      requestMetadata: undefined,
      requestOptions: undefined,
      guardrails: undefined,
      logMasking: undefined,
    } satisfies EveryField<CallContext> as CallContext;
    const traceparent = request.headers.traceparent;
    if (typeof traceparent === 'string') call.traceparent = traceparent;
    request.call = call;
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) client.close();
    });
    reply.header('x-switchboard-call-id', call.callId);
    reply.header('x-litellm-call-id', call.callId);
    const powerLevel = request.headers['x-power-level'];
    if (typeof powerLevel === 'string') call.requestedPowerLevel = powerLevel;
    const task = request.headers['x-switchboard-task'];
    if (typeof task === 'string') call.requestedTask = task;
    const reject = (caught: unknown) => {
      const error = toGatewayError(caught);
      closeConnectionIfBodyUnread(request, reply);
      if (config.endpoint) deps.gateway.recordRejected(call, error, null);
      // Answering from the hook: done() is not called.
      sendError(reply, error);
    };
    const headers = config.googleKey ? withGoogleKey(request) : request.headers;
    let cached: Caller | undefined;
    try {
      // The end user from a header (general_settings.user_header_name, else x-litellm-end-user-id); the body's `user` is read with the body (gateway/end-user.ts).
      const endUser = endUserFromHeaders(request.headers, deps.endUserHeader);
      if (endUser !== undefined) call.endUser = endUser;
      cached = deps.authenticator.authenticateCached(headers);
    } catch (caught) {
      reject(caught);
      return;
    }
    // Only keys with allowed_routes pay for describing the route (nearly every request skips it).
    // The path as the router read it, and whether it is also served with /v1 (so neither spelling escapes a listed route).
    const route = () => {
      const pattern = request.routeOptions.url;
      const v1Twin = pattern !== undefined && !pattern.startsWith('/v1/') && app.hasRoute({ method: request.method as HTTPMethods, url: `/v1${pattern}` });
      return { method: request.method, path: routePath(request.url), callsModel: config.endpoint !== undefined, v1Twin, pattern };
    };
    if (cached) {
      call.caller = cached;
      try {
        assertRouteAllowed(cached, route);
        if (proxyRoutes) assertProxyRoutes(proxyRoutes, cached, route);
      } catch (caught) {
        reject(caught);
        return;
      }
      done();
      return;
    }
    deps.authenticator.authenticate(headers).then(
      (caller) => {
        call.caller = caller;
        try {
          assertRouteAllowed(caller, route);
          if (proxyRoutes) assertProxyRoutes(proxyRoutes, caller, route);
        } catch (caught) {
          reject(caught);
          return;
        }
        done();
      },
      reject,
    );
  });

  // Only with global_max_parallel_requests set: after the hook above, so only authenticated model calls take a slot.
  if (deps.globalParallel) app.addHook('onRequest', globalParallelHook(deps.globalParallel, deps.gateway));

  // Only with enforce_user_param or enforced_params configured: nothing on the request path otherwise.
  if (deps.requiredParams) app.addHook('preHandler', requiredParamsHook(deps.requiredParams));
  // Only with reject_clientside_metadata_tags: true; nothing on the request path otherwise.
  if (deps.rejectClientTags) app.addHook('preHandler', clientTagsHook);

  installErrorHandling(app, deps.logger, deps.bodyLimitBytes, (request, error) => {
    const call = request.call;
    if (call && !call.recorded) {
      const model = (request.body as { model?: unknown } | undefined)?.model;
      deps.gateway.recordRejected(call, error, typeof model === 'string' ? model : null);
    }
  });

  const health = { catalog: deps.catalog, upstream: deps.upstream, database: deps.database, healthCheckTimeoutMs: deps.healthCheckTimeoutMs, health: deps.health, models: deps.models, platform: deps.platform, isDraining: deps.isDraining, sharedStateDegraded: deps.sharedStateDegraded, keysWaitForSpill: deps.keysWaitForSpill, presentsAdminKey: (headers: FastifyRequest['headers']) => presentsAdminKey(deps.authenticator, headers) };
  registerHealthRoutes(app, health);
  const visibility = { catalog: deps.catalog, platform: deps.platform };
  if (deps.models) registerModelRoutes(app, deps.models, visibility);
  if (deps.models) registerLitellmModelInfoRoutes(app, deps.models, deps.health, visibility);
  if (deps.backends) registerBackendRoutes(app, deps.backends);
  if (deps.metrics) registerMetricsRoutes(app, { metrics: deps.metrics, public: deps.metricsPublic === true });
  registerOpenAIRoutes(app, { gateway: deps.gateway, catalog: deps.catalog, autoModel: deps.platform !== undefined, platform: deps.platform });
  if (deps.platformStorage) registerPlatformRoutes(app, { gateway: deps.gateway, catalog: deps.catalog, health, platform: deps.platform, ...deps.platformStorage });
  if (deps.platformStorage) registerCreditPurchaseRoutes(app, deps.purchases);
  // Granted vector stores (auth/vector-store-access.ts): a key calling means the database is ready.
  const vectorStoreGranted = (id: string) => deps.management().vectorStoreGranted(id);
  registerKeyRoutes(app, deps.management, deps.platform?.rules, deps.keyGenerateParams, deps.keyGenerationSettings, deps.defaultTeamDisabled);
  registerManagementRoutes(app, deps.management, deps.userDefaults);
  if (deps.budgets) registerBudgetRoutes(app, deps.budgets);
  if (deps.customers) registerCustomerRoutes(app, deps.customers);
  if (deps.spendReports) registerSpendRoutes(app, { reports: deps.spendReports });
  if (deps.responses) registerResponsesRoutes(app, { gateway: deps.gateway, store: deps.responses, catalog: deps.catalog, agentModel: deps.agents ? (model) => deps.agents!.agents.modelOf(model) : undefined, platform: deps.platform, vectorStoreGranted });
  if (deps.spendReports) registerLitellmSpendRoutes(app, { reports: deps.spendReports, management: deps.management });
  if (deps.spendReports) registerLitellmSpendReportRoute(app, { reports: deps.spendReports, management: deps.management });
  registerAnthropicRoutes(app, { gateway: deps.gateway, catalog: deps.catalog, agentModel: deps.agents ? (model) => deps.agents!.agents.modelOf(model) : undefined, platform: deps.platform });
  registerGeminiRoutes(app, { gateway: deps.gateway });
  registerAnthropicNativeRoutes(app, { gateway: deps.gateway });
  registerOpenAIMediaRoutes(app, { gateway: deps.gateway, catalog: deps.catalog, responses: deps.responses, vectorStoreGranted });
  if (deps.passThrough && deps.passThrough.endpoints.length > 0) registerPassThroughRoutes(app, { gateway: deps.gateway, ...deps.passThrough, creditsOn: deps.platform !== undefined, platform: deps.platform });
  if (deps.routerPolicy) registerRouterSettingsRoutes(app, deps.routerPolicy, deps.routerSettings);
  registerCacheRoutes(app, deps.cache);
  if (deps.agents) registerAgentRoutes(app, deps.agents);
  registerGuardrailRoutes(app, deps.guardrails);
  registerUiRoutes(app, { directory: deps.uiDirectory });
  return app;
}

/**
 * Fastify and Node server options for the listener settings. requestTimeout and headersTimeout
 * bound receiving a request only; the response (a long stream) is not cut by them.
 */
function listenerOptions(listener: ListenerSettings | undefined) {
  if (!listener) return {};
  return {
    requestTimeout: listener.requestTimeoutMs,
    keepAliveTimeout: listener.keepAliveTimeoutMs,
    http: { headersTimeout: listener.headersTimeoutMs, connectionsCheckingInterval: listener.connectionsCheckingIntervalMs },
  };
}

/** Names, in x-switchboard-warnings, the query parameters the route parsed none of its schemas for (parse-input.ts). */
function warnIgnoredQuery(request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (error: Error | null, payload?: unknown) => void): void {
  const ignored = ignoredQueryParameters(request.query);
  if (ignored.length > 0) {
    const names = ignored.slice(0, 10).map((name) => `"${name.slice(0, 64)}"`);
    const warning = `query parameter${ignored.length > 1 ? 's' : ''} ${names.join(', ')}${ignored.length > 10 ? ` and ${ignored.length - 10} more` : ''} not read by this route: ignored`;
    const earlier = reply.getHeader('x-switchboard-warnings');
    reply.header('x-switchboard-warnings', safeHeaderValue(typeof earlier === 'string' && earlier ? `${earlier}; ${warning}` : warning));
  }
  done(null, payload);
}
