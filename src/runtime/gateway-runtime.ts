/**
 * Wires a whole gateway from a loaded config: catalog, upstream client, usage writer, database
 * (opened and migrated in the background), authenticator and HTTP server. The CLI and the e2e
 * tests both start gateways through this.
 */
import { spendLogPrivacyOf } from '../gateway/spend-log-privacy.js';
import { maxResponseBytesOf } from '../gateway/response-size.js';
import { requiredParamsOf } from '../http/required-params.js';
import { GlobalParallelLimit, registerGlobalParallelMetrics } from '../http/global-parallel.js';
import { proxyRoutesOf } from '../auth/allowed-routes.js';
import { proxyBudgetOf } from '../auth/proxy-budget.js';
import { ProxySpendRepository } from '../storage/repositories/proxy-spend.js';
import { acceptsOwnKeys, baseCarriesCredential } from '../platform/byok-scope.js';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Authenticator } from '../auth/authenticator.js';
import { buildDeployments } from '../config/deployments.js';
import { formatIssue, formatPath, type LoadedConfig } from '../config/load.js';
import { allowedAddresses } from '../config/allowed-ips.js';
import { DEFAULT_DATA_DIR, redisUrlFrom, SQLITE_FILE_NAME } from '../config/runtime-settings.js';
import { databaseIdentity } from '../storage/database-identity.js';
import { Gateway } from '../gateway/pipeline.js';
import { UpstreamClient } from '../gateway/upstream.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { UsageLogWriter } from '../observability/usage-log-writer.js';
import { GatewayMetrics } from '../observability/metrics.js';
import { ModelCatalog } from '../routing/catalog.js';
import { routerPolicyFrom } from '../routing/policy.js';
import { Router } from '../routing/router.js';
import { shareDeploymentMarks } from '../billing/priority-default.js';
import { LocalRouterState } from '../state/local-router-state.js';
import { RedisRouterState } from '../state/redis-router-state.js';
import type { RouterState } from '../state/router-state.js';
import { buildServer } from '../server.js';
import { UsageLogRepository } from '../storage/repositories/usage-logs.js';
import { UsageIngest } from '../storage/usage-ingest.js';
import { PrincipalRepository } from '../storage/repositories/principals.js';
import { SqliteWorkerSink } from '../storage/sqlite-writer.js';
import { Admission } from '../auth/admission.js';
import { KeyDirectory } from '../auth/key-directory.js';
import { CustomerDirectory } from '../auth/customer-directory.js';
import { CustomerService, maxEndUserBudgetMicrosOf } from '../auth/customers.js';
import { BudgetService } from '../auth/budget-objects.js';
import { CustomerBudgetRepository } from '../storage/repositories/customers-budgets.js';
import { keyRevocationCheck } from '../auth/key-revocation.js';
import { OpenStreams } from '../gateway/open-streams.js';
import { DEFAULT_KEY_MAX_PARALLEL_REQUESTS } from '../auth/default-limits.js';
import { listenerSettingsFrom, type ListenerSettings } from '../http/listener-settings.js';
import { ManagementService } from '../auth/management.js';
import { databaseNotReady } from '../errors.js';
import type { LimitsState } from '../state/limits-state.js';
import { LocalLimitsState } from '../state/local-limits-state.js';
import { RedisLimitsState } from '../state/redis-limits-state.js';
import { ResilientLimitsState } from '../state/resilient-limits-state.js';
import { ResilientRouterState } from '../state/resilient-router-state.js';
import { SharedStateStatus } from '../state/shared-state-status.js';
import { redactUrl } from '../storage/db.js';
import { DatabaseState } from './database-state.js';
import { reloadConfig, type ReloadOutcome } from './config-reload.js';
import { platformCommerce } from './platform-commerce.js';
import { CreditGrantRepository } from '../storage/repositories/credit-grants.js';
import { ByokDirectory } from '../platform/byok.js';
import { PlatformLayer } from '../platform/layer.js';
import { platformSettingsFrom } from '../platform/settings.js';
import { SecretBox } from '../security/secret-box.js';
import { ByokKeyRepository } from '../storage/repositories/byok-keys.js';
import { RoutingRuleRepository } from '../storage/repositories/routing-rules.js';
import { RoutingRuleStore } from '../platform/rule-store.js';
import { CreditRepository } from '../storage/repositories/credits.js';
import { DEFAULT_ROLE_PERMISSIONS } from '../auth/permissions.js';
import { ModelRegistry } from '../routing/model-registry.js';
import { ModelRepository } from '../storage/repositories/models.js';
import { HealthMonitor } from '../routing/health-monitor.js';
import { healthSettingsFrom } from '../routing/health-settings.js';
import { checkDeployment } from '../routing/health-check.js';
import { DatabaseHealthStore, RedisHealthStore } from '../state/health-store.js';
import { LocalBackends } from '../backends/local-backends.js';
import { BackendStateRepository } from '../storage/repositories/backend-state.js';
import { ReportClaimRepository } from '../storage/repositories/report-claims.js';
import { createUsageAnalytics, type UsageAnalytics } from './usage-analytics.js';
import { RouterSettingsStore } from '../routing/router-settings-store.js';
import { GatewaySettingsRepository } from '../storage/repositories/gateway-settings.js';
import { CacheConfigError, createResponseCache } from '../cache/create.js';
import { registerCacheMetrics } from '../cache/metrics.js';
import { CallbackProblem, Callbacks, type CallbackQueueTuning } from '../observability/callbacks/callbacks.js';
import { registerCallbackMetrics } from '../observability/callbacks/metrics.js';
import { Alerting } from '../observability/alerting/alerting.js';
import { spendReports, type SpendReport } from '../observability/alerting/spend-report.js';
import { redisClaims } from '../observability/alerting/alert-claims.js';
import { redisClient } from '../state/redis-client.js';
import { AgentDirectory } from '../agents/directory.js';
import { guardrailDefinitions } from '../guardrails/definitions.js';
import { GuardrailRegistry } from '../guardrails/registry.js';
import { configuredAgents } from '../agents/configured.js';
import { AgentRepository } from '../storage/repositories/agents.js';
import { StoredResponseRepository } from '../storage/repositories/stored-responses.js';
import { ResponseStore } from '../responses/response-store.js';
import type { CacheStore } from '../cache/store.js';

export interface RuntimeOptions {
  logger?: Logger;
  /** Overrides DATABASE_URL / general_settings.database_url. */
  databaseUrl?: string;
  /** The data directory (default ./data): the default SQLite file and, under spill/, usage rows kept while the database is down. */
  dataDir?: string;
  /** The admin UI build served at /ui (default: the package's dist/ui). */
  uiDirectory?: string;
  usageFlushIntervalMs?: number;
  /** The logging callbacks' queue sizes and timings (defaults in delivery-queue.ts). */
  callbackTuning?: CallbackQueueTuning;
  /** The clock the daily spend report reads (tests send a day's report by moving it). */
  reportClock?: () => number;
  /** Overrides REDIS_URL / router_settings.redis_*; shares router state with other replicas. */
  redisUrl?: string;
  /** Key prefix in Redis (default "switchboard:"), so that separate deployments or test runs never collide. */
  redisPrefix?: string;
  /** Random source for routing (tests fix a seed). */
  random?: () => number;
  /** Overrides general_settings.master_key / SWITCHBOARD_MASTER_KEY (the CLI passes a generated one). */
  masterKey?: string;
  /** This process is a worker of `switchboard start --workers N` (runtime/workers.ts). */
  worker?: WorkerRole;
}

/**
 * A worker's place among the workers: the state the primary owns for all of them (limits and router
 * state without Redis, the response cache's local store), and its index — worker 1 alone runs the
 * background jobs (health rounds, retention, billing webhook, daily report, allowance sweep).
 */
export interface WorkerRole {
  index: number;
  count: number;
  limits?: LimitsState;
  router?: RouterState;
  cacheStore?: CacheStore;
}

export interface GatewayRuntime {
  app: FastifyInstance;
  catalog: ModelCatalog;
  usageWriter: UsageLogWriter;
  metrics: GatewayMetrics;
  database: DatabaseState;
  keyDirectory: KeyDirectory;
  /** The platform layer (credits, power levels, BYOK) when the config has a `platform:` section. */
  platform: PlatformLayer | undefined;
  credits(): CreditRepository | undefined;
  /** Config-file and API-managed models (model-registry.ts). */
  models: ModelRegistry;
  /** Deployment health (health-monitor.ts): `isHealthy(deployment)`, `statusOf(id)`. */
  health: HealthMonitor;
  /** Router settings changed at run time (stored overrides on top of config.yaml). */
  routerSettings: RouterSettingsStore;
  /** Agents (config.yaml's `agents:` and the API's), served as `agent/<name>`. */
  agents: AgentDirectory;
  /** Spend reports, usage retention and billing events. */
  analytics: UsageAnalytics;
  /** The logging callbacks (litellm_settings.callbacks …); undefined when none is configured. */
  callbacks: Callbacks | undefined;
  /** Alerting (general_settings.alerting); undefined when off. */
  alerting: Alerting | undefined;
  /** The daily spend report (alert type daily_reports); undefined when off. */
  dailyReport: SpendReport | undefined;
  /** The weekly (or spend_report_frequency) and monthly spend reports (alert type spend_reports); empty when off. */
  spendReports: SpendReport[];
  usageLogs(): UsageLogRepository | undefined;
  /** Stored responses of /v1/responses (queued writes, read-your-writes). */
  responses: ResponseStore;
  /** Stores usage rows with their spend, credits, rollups and billing events (what the usage writer does). */
  usageIngest(): UsageIngest | undefined;
  principals(): PrincipalRepository | undefined;
  listen(port: number, host: string): Promise<string>;
  /** Starts a drain: readiness answers 503 ("draining") so load balancers stop sending; requests are still served. */
  drain(): void;
  /**
   * Stops: no new connections; requests and streams in flight finish (cut after `timeoutMs`, default
   * no bound), then queued usage rows are written and every connection is closed.
   */
  close(options?: { timeoutMs?: number }): Promise<void>;
  /**
   * Stopping at once (a second signal): the queued usage rows are spilled to disk synchronously, no
   * new connections are taken, those still open are cut, and the rows of the calls that settle
   * within `limitMs` (default 1 s) are spilled too. The caller exits the process afterwards.
   */
  abort(limitMs?: number): Promise<void>;
  /**
   * Applies a re-read config.yaml (config-reload.ts): nothing when it has errors; otherwise the
   * models, router settings, rules, tiers and agents at once. Reloads run one after another.
   */
  reload(next: LoadedConfig): Promise<ReloadOutcome>;
}

export class ConfigError extends Error {}

/** The config's fatal errors as one ConfigError, or undefined when the gateway can start with it. */
export function configRefusal(loaded: LoadedConfig): ConfigError | undefined {
  const fatal = loaded.issues.filter((issue) => issue.severity === 'error' && issue.fatal);
  return fatal.length > 0 ? new ConfigError(`the config has errors:\n${fatal.map((issue) => `  ${formatIssue(issue, loaded.file)}`).join('\n')}`) : undefined;
}

export { redisUrlFrom };

export async function createRuntime(loaded: LoadedConfig, options: RuntimeOptions = {}): Promise<GatewayRuntime> {
  const logger = options.logger ?? createLogger({ json: loaded.config.litellm_settings.json_logs });
  const refusal = configRefusal(loaded);
  if (refusal) throw refusal;
  for (const issue of loaded.issues.filter((item) => !item.fatal)) {
    logger.warn({ where: issue.line ? `${loaded.file ?? 'config'}:${issue.line}` : undefined }, `config: ${issue.message} (${formatPath(issue.path)})`);
  }

  const { config, env } = loaded;
  // A malformed SWITCHBOARD_ENCRYPTION_KEY stops start-up: stored secrets (BYOK keys, credentials of
  // models added through the API) could not be opened.
  let secretBox: SecretBox | undefined;
  let healthSettings: ReturnType<typeof healthSettingsFrom>;
  let listener: ListenerSettings;
  try {
    secretBox = SecretBox.fromEnv(env);
    healthSettings = healthSettingsFrom(config, env);
    listener = listenerSettingsFrom(config);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  const platformSettings = platformSettingsFrom(config.platform);
  let agentDefinitions: ReturnType<typeof configuredAgents>;
  try {
    agentDefinitions = configuredAgents(config.agents);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  let guardrails: GuardrailRegistry | undefined;
  try {
    // Its warnings and errors are config issues (config/load.ts), logged or fatal above.
    const built = guardrailDefinitions(config.guardrails);
    if (built.definitions.length > 0) guardrails = new GuardrailRegistry(built.definitions);
  } catch (error) {
    throw new ConfigError(`the config has errors:\n  ${(error as Error).message}`);
  }
  const deployments = buildDeployments(loaded);
  const aliases = config.router_settings.model_group_alias ?? {};
  const catalog = new ModelCatalog(deployments, aliases);
  for (const deployment of catalog.allDeployments()) {
    if (!deployment.available) logger.warn({ model: deployment.modelName, deployment: deployment.id, reason: deployment.unavailableReason }, 'model unavailable');
    else if (!deployment.prices && deployment.perSecondPico === undefined) logger.warn({ model: deployment.modelName, upstreamModel: deployment.upstreamModel }, 'no price known: cost is recorded as unknown, and callers held to a budget or paying credits are refused (set model_info.input_cost_per_token / output_cost_per_token; 0 for a free model)');
    if (deployment.modelInfo.byok === true && !acceptsOwnKeys(deployment)) {
      logger.warn({ model: deployment.modelName, deployment: deployment.id, provider: deployment.provider }, baseCarriesCredential(deployment.apiBase)
        ? 'model_info.byok is ignored: the api_base carries a credential (user info or a key in its query), which would go out beside a user\'s own key; users\' keys are never used on this deployment'
        : 'model_info.byok is ignored: bedrock and vertex_ai deployments authorize with their own AWS credentials or service account, users\' keys are never used on them');
    }
  }

  const worker = options.worker;
  // Jobs that must run once however many workers serve: worker 1's (or the single process's).
  const background = worker === undefined || worker.index === 1;
  const dataDir = resolve(options.dataDir ?? DEFAULT_DATA_DIR);
  const databaseUrl = options.databaseUrl ?? env.DATABASE_URL ?? config.general_settings.database_url ?? `sqlite:${join(dataDir, SQLITE_FILE_NAME)}`;
  const usageWriter = new UsageLogWriter({ logger, spillDir: join(dataDir, 'spill'), database: databaseIdentity(databaseUrl), flushIntervalMs: options.usageFlushIntervalMs });
  const redisUrl = options.redisUrl ?? redisUrlFrom(config, env);
  const redisPrefix = options.redisPrefix ?? env.SWITCHBOARD_REDIS_PREFIX;
  let customerBudgets: CustomerBudgetRepository | undefined;
  /** Set while usage rows of an earlier run are still spilled: virtual keys wait, readiness answers 503. */
  let keysWaitForSpill = false;
  const keyDirectory = new KeyDirectory({ logger, redisUrl, redisPrefix, defaultMaxParallelRequests: config.general_settings.default_key_max_parallel_requests ?? DEFAULT_KEY_MAX_PARALLEL_REQUESTS, budgets: () => customerBudgets });
  await keyDirectory.start();
  const customerDirectory = new CustomerDirectory({ logger, redisUrl, redisPrefix });
  // litellm_settings.max_budget: the proxy-wide budget every virtual key's call is held to (auth/proxy-budget.ts).
  const proxyBudget = proxyBudgetOf(config, logger);
  await customerDirectory.start();
  const byok = new ByokDirectory(secretBox, logger, { redisUrl, redisPrefix });
  if (platformSettings) await byok.start();
  const routingRules = new RoutingRuleStore({ configRules: platformSettings?.routingRules ?? [], logger, redisUrl, redisPrefix });
  if (platformSettings) {
    await routingRules.start();
    routingRules.warnUnknownTargets(catalog);
  }

  let repository: UsageLogRepository | undefined;
  let ingest: UsageIngest | undefined;
  let principals: PrincipalRepository | undefined;
  let credits: CreditRepository | undefined;
  let creditGrants: CreditGrantRepository | undefined;
  let modelRepository: ModelRepository | undefined;
  let backendState: BackendStateRepository | undefined;
  let reportClaims: ReportClaimRepository | undefined;
  let workerSink: SqliteWorkerSink | undefined;
  let agentRepository: AgentRepository | undefined;
  let storedResponses: StoredResponseRepository | undefined;
  const responseStore = new ResponseStore({ repository: () => storedResponses, logger });
  const analytics = createUsageAnalytics(config, logger, background);
  const database = new DatabaseState(databaseUrl, logger, (handle) => {
    repository = new UsageLogRepository(handle.db, handle.sqlite);
    ingest = new UsageIngest(handle.db, repository, analytics.ingestOptions, (calls) => logger.warn({ calls }, 'calls of a deleted user or team ended after its id was given to a new one: charged to no one (their usage rows are kept)'));
    analytics.attach(handle, repository);
    principals = new PrincipalRepository(handle.db);
    // A SQLite file is written from a worker thread, so batches never stall the event loop.
    if (handle.dialect === 'sqlite' && !handle.description.endsWith(':memory:')) workerSink = SqliteWorkerSink.create(handle.description, logger, analytics.ingestOptions);
    usageWriter.attach(workerSink ?? ingest);
    customerBudgets = new CustomerBudgetRepository(handle.db);
    // Budgets are seeded from the stored spend when a key is first loaded: with usage rows of an
    // earlier run still spilled (it stopped while the database could not write), that spend is short
    // of them and a key could spend its budget again. Virtual keys wait (503, as before the database
    // is ready) until the spill is written back; the master key works meanwhile.
    const loadedPrincipals = principals;
    const loadedBudgets = customerBudgets;
    const attachPrincipals = () => {
      keyDirectory.attach(loadedPrincipals);
      customerDirectory.attach(loadedBudgets);
    };
    // With a proxy-wide budget, virtual keys are served once its recorded spend is read (never unheld).
    const proxySpend = new ProxySpendRepository(handle.db);
    const servePrincipals = () => (proxyBudget ? void proxyBudget.attach(proxySpend).then(attachPrincipals) : attachPrincipals());
    const spill = usageWriter.spillWrittenBack();
    if (!spill) servePrincipals();
    else {
      keysWaitForSpill = true;
      logger.warn('usage rows of an earlier run are still spilled: virtual keys are served once they are written to the database');
      void spill.then((written) => {
        if (!written) return;
        logger.info('spilled usage rows written back: serving virtual keys');
        servePrincipals();
        keysWaitForSpill = false;
      });
    }
    credits = new CreditRepository(handle.db);
    creditGrants = new CreditGrantRepository(handle.db);
    if (background) void commerce?.allowances.sweep().catch((error: Error) => logger.warn({ err: error.message }, 'the monthly allowance sweep failed; it runs again later'));
    if (platformSettings) byok.attach(new ByokKeyRepository(handle.db), principals);
    if (platformSettings) void routingRules.attach(new RoutingRuleRepository(handle.db)).catch((error: Error) => logger.error({ err: error.message }, 'could not load the stored routing rules'));
    modelRepository = new ModelRepository(handle.db);
    backendState = new BackendStateRepository(handle.db);
    reportClaims = new ReportClaimRepository(handle.db);
    void modelRegistry.attach(modelRepository).catch((error: Error) => logger.error({ err: error.message }, 'could not load the stored models'));
    void routerSettings.attach(new GatewaySettingsRepository(handle.db)).catch((error: Error) => logger.error({ err: error.message }, 'could not load the stored router settings'));
    agentRepository = new AgentRepository(handle.db);
    storedResponses = new StoredResponseRepository(handle.db);
    void agents.attach(agentRepository).catch((error: Error) => logger.error({ err: error.message }, 'could not load the stored agents'));
  });

  const masterKey = options.masterKey ?? config.general_settings.master_key ?? env.SWITCHBOARD_MASTER_KEY ?? env.LITELLM_MASTER_KEY;
  const authenticator = new Authenticator(masterKey, keyDirectory, config.general_settings.litellm_key_header_name);
  for (const entry of config.general_settings.pass_through_endpoints ?? []) {
    if (entry.auth === false) logger.warn(`general_settings.pass_through_endpoints: ${entry.path} is served with auth: false — anyone who can reach the gateway calls ${entry.target} with the headers configured for it`);
  }
  if (!authenticator.enforced) logger.warn('no master key configured (general_settings.master_key): every route is open to anyone who can reach the gateway');

  // With Redis: shared by the replicas, and on this replica's memory while Redis does not answer.
  const sharedState = redisUrl ? new SharedStateStatus(logger, config.general_settings.shared_state_outage ?? 'local') : undefined;
  const resilientLimits = redisUrl ? new ResilientLimitsState(RedisLimitsState.create({ url: redisUrl, prefix: redisPrefix, logger }), sharedState!, logger) : undefined;
  const routerState: RouterState = redisUrl
    ? new ResilientRouterState(RedisRouterState.create({ url: redisUrl, prefix: redisPrefix, logger, deploymentIds: catalog.allDeployments().map((deployment) => deployment.id) }), sharedState!)
    : (worker?.router ?? new LocalRouterState());
  // Reservations on every replica (and worker) are sized by the marks any of them set (billing/priority-default.ts).
  const stopSharingMarks = shareDeploymentMarks(routerState);
  const limitsState: LimitsState = resilientLimits ?? worker?.limits ?? new LocalLimitsState();
  // A normal start shares limits from its first request; an unreachable Redis delays it at most 2 s.
  if (resilientLimits && !(await resilientLimits.connected(2_000))) logger.warn({ redis: redactUrl(redisUrl!) }, "starting without Redis: limits run on this replica's memory until it answers");
  const management: ManagementService = new ManagementService(() => {
    if (!principals) throw databaseNotReady();
    return principals;
  }, keyDirectory, limitsState, platformSettings, (budgetId) => budgetService.budgetTable(budgetId), () => byok.usersDeleted());
  const customerStore = () => {
    if (!customerBudgets) throw databaseNotReady();
    return customerBudgets;
  };
  const budgetService: BudgetService = new BudgetService(customerStore, customerDirectory, keyDirectory, limitsState, management);
  const customerService = new CustomerService(customerStore, customerDirectory, limitsState, () => gatewaySettings.maxEndUserBudgetMicros);
  const upstream = new UpstreamClient();
  const monitored = () => modelRegistry.entries().map((entry) => ({ deployment: entry.deployment, active: entry.enabled }));
  // Local inference servers (Ollama, vLLM, …): what they serve, read with the health rounds.
  const localBackends = new LocalBackends({ deployments: monitored, upstream, timeoutMs: healthSettings.timeoutMs, logger, redisUrl, redisPrefix, repository: () => backendState });
  const modelRegistry = new ModelRegistry({
    loaded,
    catalog,
    logger,
    secretBox,
    redisUrl,
    redisPrefix,
    configDeployments: deployments,
    onDeploymentsAdded: (ids) => {
      void routerState.watch?.(ids).catch((error: Error) => logger.warn({ err: error.message }, 'could not load cooldowns of new deployments'));
      localBackends.deploymentsChanged(ids);
    },
    onDeploymentsChanged: (ids) => {
      healthMonitor.forget(ids);
      localBackends.deploymentsChanged(ids);
    },
  });
  await modelRegistry.start();
  const alerting = Alerting.fromSettings({ ...config.general_settings, turn_off_message_logging: config.litellm_settings.turn_off_message_logging }, env, logger, options.callbackTuning);
  // Alert claims shared by the replicas: each budget crossing and each day's report is sent by one.
  const alertRedis = alerting && redisUrl ? { client: redisClient(redisUrl, { role: 'alert claims', logger }), prefix: `${redisPrefix ?? 'switchboard:'}alerts:` } : undefined;
  if (alerting && alertRedis) alerting.shareClaims(redisClaims(alertRedis.client, `${alertRedis.prefix}budget:`));
  const healthMonitor = new HealthMonitor({
    onStatusChange: alerting ? (deployment, health, previous) => alerting.healthChanged(deployment, health, previous) : undefined,
    deployments: monitored,
    backends: localBackends.directory,
    check: (deployment) => checkDeployment(deployment, upstream, healthSettings.timeoutMs),
    logger,
    store: redisUrl ? new RedisHealthStore(redisUrl, redisPrefix ?? 'switchboard:', logger) : followerUnless(background, new DatabaseHealthStore(() => modelRepository, logger)),
    intervalMs: healthSettings.intervalMs,
    downProbeIntervalMs: healthSettings.downProbeIntervalMs,
    degradedThresholdMs: healthSettings.degradedThresholdMs,
  });
  await healthMonitor.start();
  await localBackends.start(healthMonitor);
  const router = new Router({ policy: routerPolicyFrom(config), state: routerState, logger, random: options.random, health: healthMonitor });
  logger.info({ strategy: router.policy.strategy, shared: redisUrl ? 'redis' : 'this process only' }, 'router ready');
  // Router settings changed through the admin API, stored in the database on top of config.yaml.
  const routerSettings = new RouterSettingsStore({ loaded, catalog, logger, redisUrl, redisPrefix, apply: (policy) => router.setPolicy(policy) });
  await routerSettings.start();
  const agents = new AgentDirectory({ configured: agentDefinitions, catalog, logger, redisUrl, redisPrefix });
  await agents.start();
  for (const agent of agentDefinitions) {
    for (const model of [agent.model, ...agent.fallbacks]) if (!catalog.resolve(model)) logger.warn({ agent: agent.name, model }, 'agent names a model group the config does not define: its calls fail until the model exists');
  }

  // Monthly allowances and Stripe purchases (src/platform/allowances.ts, stripe-purchases.ts).
  const commerce = platformSettings ? platformCommerce(platformSettings, { sweep: background, logger, store: () => creditGrants, invalidate: () => keyDirectory.changed('all') }) : undefined;
  const platform = platformSettings
    ? new PlatformLayer({
        allowances: commerce?.allowances,
        settings: platformSettings,
        catalog,
        limits: limitsState,
        byok,
        rules: routingRules,
        logger,
        // Auto selection picks among deployments that are callable, not cooling down and not down.
        isHealthy: (deployment) => deployment.available && router.coolingUntil(deployment) === undefined && healthMonitor.isHealthy(deployment),
        onLowBalance: () => metrics.lowCreditBalances.inc(),
        onOverrun: (ledger) => metrics.reservationOverruns.inc({ ledger }),
      })
    : undefined;
  if (platformSettings) logger.info({ tiers: [...platformSettings.tiers.keys()], defaultTier: platformSettings.defaultTier, creditsPerUsd: platformSettings.creditsPerUsd, byok: secretBox ? 'on' : 'off (no SWITCHBOARD_ENCRYPTION_KEY)' }, 'platform layer on: credits, power levels, BYOK');
  const metrics = new GatewayMetrics({
    catalog,
    usageWriter,
    coolingUntil: (deployment) => router.coolingUntil(deployment),
    healthStatus: (deployment) => healthMonitor.statusOf(deployment.id)?.status,
    sharedState: resilientLimits ? () => ({ degraded: sharedState!.degraded, pendingUpdates: resilientLimits.pending }) : undefined,
  });
  const openStreams = new OpenStreams(keyRevocationCheck(keyDirectory), logger);
  let cache: Awaited<ReturnType<typeof createResponseCache>>;
  try {
    cache = await createResponseCache(config, { catalog, logger, redisUrl, redisPrefix, sharedStore: worker?.cacheStore });
  } catch (error) {
    throw error instanceof CacheConfigError ? new ConfigError(error.message) : error;
  }
  if (cache) registerCacheMetrics(metrics.registry, cache);
  // general_settings.global_max_parallel_requests, per process (http/global-parallel.ts); unset: nothing.
  const globalParallel = GlobalParallelLimit.of(config.general_settings.global_max_parallel_requests);
  if (globalParallel) registerGlobalParallelMetrics(metrics.registry, globalParallel);
  let callbacks: Callbacks | undefined;
  try {
    callbacks = Callbacks.fromSettings({ ...config.litellm_settings, callback_settings: config.callback_settings }, env, logger, options.callbackTuning);
  } catch (error) {
    throw error instanceof CallbackProblem ? new ConfigError(error.message) : error;
  }
  if (callbacks || alerting) registerCallbackMetrics(metrics.registry, [callbacks, alerting].filter((source) => source !== undefined));
  // Read per call; a hot reload changes dropParams in place.
  const privacy = spendLogPrivacyOf(config);
  const gatewaySettings = { dropParams: config.litellm_settings.drop_params ?? false, storePrompts: privacy.storePrompts, callbackContent: callbacks?.messageLogging === true, messageLogging: config.litellm_settings.turn_off_message_logging !== true, withoutSpendLogContent: privacy.withoutContent, maxResponseBytes: maxResponseBytesOf(config), reservationOutputTokens: config.general_settings.budget_reservation_output_tokens, maxEndUserBudgetMicros: maxEndUserBudgetMicrosOf(config) };
  const gateway = new Gateway({
    catalog,
    upstream,
    usageWriter,
    logger,
    router,
    admission: new Admission(limitsState, logger, (ledger) => metrics.reservationOverruns.inc({ ledger }), alerting ? (spend) => alerting.budgetSpent(spend) : undefined, proxyBudget ? () => proxyBudget.limits() : undefined, proxyBudget ? () => proxyBudget.whenRead() : undefined),
    customers: customerDirectory,
    settings: gatewaySettings,
    metrics,
    platform,
    openStreams,
    cache,
    agents,
    guardrails,
    callbacks,
    alerting,
  });
  const bodyLimitBytes = Math.round((config.general_settings.max_request_size_mb ?? 32) * 1024 * 1024);
  let draining = false;
  // The config now running, and the reloads queued after each other.
  let current = loaded;
  let reloads: Promise<void> = Promise.resolve();
  const app = await buildServer({
    keyGenerateParams: { upperbound: config.litellm_settings.upperbound_key_generate_params, defaults: config.litellm_settings.default_key_generate_params },
    keyGenerationSettings: config.litellm_settings.key_generation_settings,
    defaultTeamDisabled: config.general_settings.default_team_disabled === true,
    userDefaults: { params: config.litellm_settings.default_internal_user_params, maxBudget: config.litellm_settings.max_internal_user_budget, budgetDuration: config.litellm_settings.internal_user_budget_duration },
    isDraining: () => draining,
    sharedStateDegraded: sharedState ? () => sharedState.degraded : undefined,
    keysWaitForSpill: () => keysWaitForSpill,
    gateway,
    catalog,
    authenticator,
    upstream,
    database,
    logger,
    bodyLimitBytes,
    uiDirectory: options.uiDirectory,
    healthCheckTimeoutMs: healthSettings.timeoutMs,
    models: modelRegistry,
    health: healthMonitor,
    backends: { directory: localBackends.directory, pulls: localBackends.pulls, health: healthMonitor },
    management: () => management,
    budgets: () => budgetService,
    customers: () => customerService,
    endUserHeader: config.general_settings.user_header_name,
    allowedIps: config.general_settings.allowed_ips ? allowedAddresses(config.general_settings.allowed_ips) : undefined,
    requiredParams: requiredParamsOf(config.general_settings),
    globalParallel,
    rejectClientTags: config.general_settings.reject_clientside_metadata_tags === true,
    proxyRoutes: proxyRoutesOf(config.general_settings),
    metrics,
    metricsPublic: config.general_settings.metrics_public === true,
    passThrough: { endpoints: config.general_settings.pass_through_endpoints ?? [], env, proxyBudget: proxyBudget !== undefined, keyHeader: config.general_settings.litellm_key_header_name },
    platform,
    roles: platformSettings?.roles ?? DEFAULT_ROLE_PERMISSIONS,
    platformStorage: {
      credits: () => {
        if (!credits) throw databaseNotReady();
        return credits;
      },
      principals: () => {
        if (!principals) throw databaseNotReady();
        return principals;
      },
      invalidatePrincipals: () => keyDirectory.changed('all'),
    },
    purchases: commerce?.purchases,
    spendReports: analytics.reports,
    routerPolicy: () => router.policy,
    routerSettings,
    agents: {
      agents,
      repository: () => agentRepository,
      run: { chat: (context, request) => gateway.chat(context, request), catalog, storePrompts: privacy.storePrompts, withoutContent: privacy.withoutContent },
      logger,
    },
    listener,
    cache,
    responses: responseStore,
    guardrails,
    workerIndex: worker && worker.count > 1 ? worker.index : undefined,
  });
  analytics.registerMetrics(metrics.registry);
  const { daily: dailyReport, spend: periodReports } = spendReports(alerting, {
    reports: analytics.reports,
    hourUtc: config.general_settings.daily_report_hour_utc,
    logger,
    now: options.reportClock ?? Date.now,
    redis: alertRedis,
    claims: () => reportClaims,
  });

  usageWriter.start();
  callbacks?.start();
  alerting?.start();
  dailyReport?.start();
  for (const report of periodReports) report.start();
  void database.start();

  return {
    app,
    catalog,
    usageWriter,
    callbacks,
    alerting,
    dailyReport,
    spendReports: periodReports,
    metrics,
    database,
    keyDirectory,
    platform,
    credits: () => credits,
    models: modelRegistry,
    health: healthMonitor,
    routerSettings,
    agents,
    analytics,
    usageLogs: () => repository,
    responses: responseStore,
    usageIngest: () => ingest,
    principals: () => principals,
    async listen(port, host) {
      const address = await app.listen({ port, host });
      const bound = app.server.address();
      // Known only now: an api_base pointing at this very address and port would loop.
      if (bound && typeof bound === 'object') modelRegistry.setOwnAddress({ host: bound.address, port: bound.port });
      return address;
    },
    drain() {
      draining = true;
    },
    reload(next) {
      const run = reloads.then(() => reloadConfig(current, next, { models: modelRegistry, routerSettings, agents, rules: routingRules, platform: platformSettings, gatewaySettings }));
      reloads = run.then(
        (outcome) => {
          if (outcome.applied) current = next;
        },
        () => undefined,
      );
      return run;
    },
    async abort(limitMs = 1_000) {
      draining = true;
      let spilled = usageWriter.spillNow();
      try {
        app.server.close(() => undefined);
        app.server.closeAllConnections();
      } catch {
        // Already closed: the first signal's close got that far.
      }
      await settledCalls(gateway, logger, limitMs);
      spilled += usageWriter.spillNow();
      logger.warn({ usageRowsSpilled: spilled }, 'stopped at once: queued usage rows spilled to disk (written back when the gateway next starts on this database)');
    },
    async close({ timeoutMs }: { timeoutMs?: number } = {}) {
      const startedAt = Date.now();
      draining = true;
      commerce?.allowances.stop();
      await closeServer(app, logger, timeoutMs);
      // Calls whose connections were cut settle a moment later: their rows must be queued before the writer closes.
      await settledCalls(gateway, logger);
      await localBackends.close();
      await healthMonitor.close();
      await modelRegistry.close();
      await routerSettings.close();
      await agents.close();
      // Bounded so that, within the process's own stop bound (cli.ts: shutdown_timeout + 10 s), a
      // database that hangs still leaves time to spill what it did not take.
      await usageWriter.close(timeoutMs === undefined ? undefined : Math.min(5_000, Math.max(1_000, startedAt + timeoutMs + 8_000 - Date.now())));
      await callbacks?.close();
      await dailyReport?.close();
      for (const report of periodReports) await report.close();
      await alerting?.close();
      alertRedis?.client.disconnect();
      await responseStore.close();
      await workerSink?.close();
      await analytics.close();
      await upstream.close();
      stopSharingMarks();
      await routerState.close();
      await cache?.close();
      await limitsState.close();
      openStreams.stop();
      await keyDirectory.close();
      await customerDirectory.close();
      proxyBudget?.close();
      await byok.close();
      await routingRules.close();
      await database.stop();
      logStopped(logger, usageWriter);
    },
  };
}

/**
 * Closes the HTTP server: no new connections; idle keep-alive ones close at once; requests and
 * streams in flight finish — or, after `timeoutMs`, have their connections cut (a cut stream is
 * settled and recorded like any client that went away).
 */
async function closeServer(app: FastifyInstance, logger: Logger, timeoutMs: number | undefined): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  if (timeoutMs !== undefined) {
    timer = setTimeout(() => {
      logger.warn({ timeoutSeconds: timeoutMs / 1000 }, 'shutdown timeout reached: cutting the requests still in flight');
      app.server.closeAllConnections();
    }, timeoutMs);
  }
  // server.close() closes the connections idle at that moment; a keep-alive connection whose
  // request finishes later would otherwise stay open until its keep-alive timeout.
  const sweeper = setInterval(() => app.server.closeIdleConnections(), 100);
  try {
    await app.close();
  } finally {
    clearTimeout(timer);
    clearInterval(sweeper);
  }
}

/** Waits for the calls still settling (bounded: a call stuck upstream must not hold the shutdown forever). */
async function settledCalls(gateway: Gateway, logger: Logger, limitMs = 5_000): Promise<void> {
  if (gateway.inFlight.size === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = await Promise.race([
    gateway.inFlight.idle().then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), limitMs))),
  ]);
  clearTimeout(timer);
  if (gaveUp) logger.warn({ calls: gateway.inFlight.size }, 'calls still settling after the shutdown timeout; their usage rows may be missing');
}

/** Workers other than worker 1 claim no health round or probe (they read the statuses worker 1 saves). */
function followerUnless(leader: boolean, store: DatabaseHealthStore): DatabaseHealthStore {
  if (!leader) store.claim = () => Promise.resolve(false);
  return store;
}

/** The last line of a clean shutdown: what became of the usage rows recorded during this run. */
function logStopped(logger: Logger, usageWriter: UsageLogWriter): void {
  const { written, spilled, dropped, rejected } = usageWriter.snapshot();
  logger.info({ usageRows: { written, spilled, dropped, rejected } }, 'gateway stopped');
}
