/**
 * The models the gateway serves at runtime: the config file's, plus those added through the model
 * management API (stored in `model_deployments`, credentials sealed with SecretBox), minus the ones
 * an operator disabled. Every change rebuilds the catalog at once (`ModelCatalog.replace`), so the
 * request path keeps reading memory only.
 *
 * Replicas converge within a second like the key cache does (key-directory.ts): a change is
 * announced on Redis pub/sub when there is Redis, and the `models` change version in the database
 * is polled every 500 ms in any case; either makes a replica reload the stored models.
 *
 * API models are built by the same code as config models (`buildDeployment`, config/deployments.ts), after the same
 * schema and provider checks, so they behave exactly alike.
 */
import { isJsonObject } from '../json-object.js';
import { randomUUID } from 'node:crypto';
import { ChangeFeed } from '../state/change-feed.js';
import type { Logger } from 'pino';
import { buildDeployment, buildDeployments, deploymentContextOf } from '../config/deployments.js';
import { isEnvironmentReference, resolveReferences, type MissingVariable } from '../config/environment-references.js';
import type { LoadedConfig } from '../config/load.js';
import { modelEntrySchema } from '../config/schema.js';
import { databaseNotReady, GatewayError, modelIdNotFound } from '../errors.js';
import { isLocalProvider, knownProviderIds } from '../providers/specs.js';
import { modelProvider } from '../providers/model-provider.js';
import type { Deployment, LongContextPrices } from '../providers/types.js';
import { maskSecret, type SecretBox } from '../security/secret-box.js';
import type { ModelRepository, StoredModelRow } from '../storage/repositories/models.js';
import type { ModelCatalog } from './catalog.js';
import type { ModelView } from '../http/views.js';
import { apiBaseProblem, type ListeningAddress } from '../security/api-base.js';
import { withCredential } from '../config/credential-list.js';

/**
 * litellm_params fields that hold credentials: sealed before storage, masked when shown. Prices
 * (`…_cost_per_token`) end in "token" too but are not secrets.
 */
const SECRET_FIELD = /(api_key|secret|password|credential|access_key|(?<!per)_token$|^token$|^headers$|^extra_headers$)/i;

export function isSecretField(name: string): boolean {
  // The name of a credential_list entry, not a secret (config/credential-list.ts).
  return name !== 'litellm_credential_name' && SECRET_FIELD.test(name);
}

export type ModelOrigin = 'config' | 'api';

export interface RegistryEntry {
  deployment: Deployment;
  origin: ModelOrigin;
  enabled: boolean;
  /** litellm_params as shown: credentials masked, `os.environ/` references as written. */
  shownParams: Record<string, unknown>;
  modelInfo: Record<string, unknown>;
  createdAt?: number;
  updatedAt?: number;
}

export type { ModelView } from '../http/views.js';

/** A model to add (POST /model/new; the route parses the body). */
export interface NewModel {
  model_name: string;
  litellm_params: Record<string, unknown>;
  model_info?: Record<string, unknown>;
}

/** Changes to an API model (POST /model/update): the fields given replace the stored ones, `null` removes one. */
export interface ModelChanges {
  model_name?: string;
  litellm_params?: Record<string, unknown>;
  model_info?: Record<string, unknown>;
}

export interface ModelRegistryOptions {
  /** Replaced by a hot reload (replaceConfig). */
  loaded: LoadedConfig;
  catalog: ModelCatalog;
  logger: Logger;
  /** Undefined without SWITCHBOARD_ENCRYPTION_KEY: models with credentials cannot be added then. */
  secretBox?: SecretBox;
  redisUrl?: string;
  redisPrefix?: string;
  pollIntervalMs?: number;
  /** Told the ids of deployments that appeared (the router state loads their cooldowns). */
  onDeploymentsAdded?: (ids: string[]) => void;
  /** Told the ids of deployments whose definition changed (their old health says nothing now). */
  onDeploymentsChanged?: (ids: string[]) => void;
  /** The config file's deployments, when the caller built them already (buildDeployments(loaded)). */
  configDeployments?: Deployment[];
}

interface ConfigModel {
  deployment: Deployment;
  shownParams: Record<string, unknown>;
  modelInfo: Record<string, unknown>;
}

export class ModelRegistry {
  private configModels: ConfigModel[];
  private aliases: NonNullable<LoadedConfig['config']['router_settings']['model_group_alias']>;
  private entryList: RegistryEntry[] = [];
  private byId = new Map<string, RegistryEntry>();
  private repository: ModelRepository | undefined;
  private readonly feed: ChangeFeed;
  private chain: Promise<void> = Promise.resolve();
  /** What each stored model was built from, to tell which ones an update changed. */
  private signatures = new Map<string, string>();
  /** The stored models last loaded, to rebuild when the listening address becomes known. */
  private rows: StoredModelRow[] = [];
  /** Where this gateway listens, once it does: an api_base there would loop (security/api-base.ts). */
  private ownAddress: ListeningAddress | undefined;

  constructor(private readonly options: ModelRegistryOptions) {
    const { loaded } = options;
    this.aliases = loaded.config.router_settings.model_group_alias ?? {};
    this.feed = new ChangeFeed({ name: 'models', logger: options.logger, reload: () => this.reload(), redisUrl: options.redisUrl, redisPrefix: options.redisPrefix, pollIntervalMs: options.pollIntervalMs });
    // buildDeployments keeps one deployment per entry of a config that loaded without fatal errors.
    this.configModels = configModelsOf(loaded, options.configDeployments ?? buildDeployments(loaded));
    this.rebuild([], false);
  }

  /**
   * A re-read config.yaml (hot reload): its models and aliases replace the file's previous ones in
   * one step; stored models stay. A deployment whose definition changed gets a new id (and a fresh
   * health record); calls in flight keep the deployment they were routed to.
   */
  replaceConfig(loaded: LoadedConfig, deployments: Deployment[] = buildDeployments(loaded)): { added: number; removed: number } {
    const before = new Set(this.configModels.map((model) => model.deployment.id));
    this.options.loaded = loaded;
    this.aliases = loaded.config.router_settings.model_group_alias ?? {};
    this.configModels = configModelsOf(loaded, deployments);
    this.rebuild(this.rows);
    const after = new Set(this.configModels.map((model) => model.deployment.id));
    return { added: [...after].filter((id) => !before.has(id)).length, removed: [...before].filter((id) => !after.has(id)).length };
  }

  /** Starts the Redis subscription (if any). */
  async start(): Promise<void> {
    await this.feed.start();
  }


  /** Called once the database is ready: loads the stored models and starts the version poll. */
  async attach(repository: ModelRepository): Promise<void> {
    this.repository = repository;
    await this.feed.attach(repository);
    await this.reload();
  }

  /** Called once the gateway listens: deployments whose api_base is the gateway itself become unavailable. */
  setOwnAddress(address: ListeningAddress): void {
    this.ownAddress = address;
    this.rebuild(this.rows, false);
  }

  get ready(): boolean {
    return this.repository !== undefined;
  }

  /** Every model, enabled or not. */
  entries(): RegistryEntry[] {
    return this.entryList;
  }

  entry(id: string): RegistryEntry | undefined {
    return this.byId.get(id);
  }

  view(entry: RegistryEntry): ModelView {
    return {
      model_name: entry.deployment.modelName,
      litellm_params: entry.shownParams,
      model_info: {
        // The config's own model_info fields first: the effective prices and the gateway's fields below are what applies.
        ...entry.modelInfo,
        ...effectivePrices(entry),
        id: entry.deployment.id,
        litellm_provider: entry.deployment.provider,
        upstream_model: entry.deployment.upstreamModel,
        db_model: entry.origin === 'api',
        enabled: entry.enabled,
        available: entry.deployment.available,
        unavailable_reason: entry.deployment.available ? null : (entry.deployment.unavailableReason ?? null),
        ...(entry.createdAt !== undefined ? { created_at: new Date(entry.createdAt).toISOString(), updated_at: new Date(entry.updatedAt ?? entry.createdAt).toISOString() } : {}),
      },
    };
  }

  // ---- changes (through any replica)

  async create(input: NewModel): Promise<ModelView> {
    const repository = this.requireRepository();
    const requestedId = input.model_info?.id;
    const id = requestedId === undefined || requestedId === null || requestedId === '' ? randomUUID() : String(requestedId);
    const existing = await repository.find(id);
    if (this.byId.has(id) || existing?.origin === 'api') {
      throw new GatewayError('conflict', `a model with id "${id}" already exists; use POST /model/update to change it, or choose another model_info.id`, { param: 'model_info.id' });
    }
    const modelInfo = { ...(input.model_info ?? {}), id };
    this.validate(input.model_name, input.litellm_params, modelInfo);
    const { plain, secrets } = this.split(input.litellm_params);
    // An override left behind by a config model that is no longer in the config.
    if (existing) await repository.delete(id);
    const now = Date.now();
    try {
      await repository.insert({ id, origin: 'api', model_name: input.model_name, litellm_params: JSON.stringify(plain), secrets: JSON.stringify(secrets), model_info: JSON.stringify(withoutId(modelInfo)), enabled: 1, created_at: now, updated_at: now });
    } catch (error) {
      // Another replica added the same id a moment ago.
      if (await repository.find(id)) throw new GatewayError('conflict', `a model with id "${id}" already exists; use POST /model/update to change it, or choose another model_info.id`, { param: 'model_info.id' });
      throw error;
    }
    await this.changed();
    this.options.logger.info({ deployment: id, model: input.model_name }, 'model added');
    return this.view(this.byId.get(id) ?? this.missing(id));
  }

  /** LiteLLM's /model/update: the fields given replace the stored ones (`null` removes a field). */
  async update(id: string, input: ModelChanges): Promise<ModelView> {
    const repository = this.requireRepository();
    const row = await repository.find(id);
    if (!row || row.origin !== 'api') {
      if (this.byId.get(id)?.origin === 'config') {
        throw new GatewayError('invalid_request', `model "${id}" comes from the config file: change it there (and restart), or disable it with POST /model/${id}/disable`, { param: 'model_info.id' });
      }
      throw modelIdNotFound(id, 'model_info.id');
    }
    const storedPlain = parseObject(row.litellm_params);
    const storedSecrets = parseObject(row.secrets) as Record<string, string>;
    const changes = input.litellm_params ?? {};
    const plain: Record<string, unknown> = { ...storedPlain };
    const secrets: Record<string, string> = { ...storedSecrets };
    for (const field of Object.keys(changes)) {
      delete plain[field];
      delete secrets[field];
    }
    const given = Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== null && value !== undefined));
    const split = this.split(given);
    Object.assign(plain, split.plain);
    Object.assign(secrets, split.secrets);
    const modelInfo: Record<string, unknown> = { ...parseObject(row.model_info) };
    for (const [field, value] of Object.entries(input.model_info ?? {})) {
      if (field === 'id') continue;
      if (value === null) delete modelInfo[field];
      else modelInfo[field] = value;
    }
    const modelName = input.model_name ?? row.model_name ?? '';
    this.validate(modelName, { ...plain, ...this.openSecretsForUpdate(secrets) }, { ...modelInfo, id });
    await repository.update(id, { model_name: modelName, litellm_params: JSON.stringify(plain), secrets: JSON.stringify(secrets), model_info: JSON.stringify(modelInfo), updated_at: Date.now() });
    await this.changed();
    this.options.logger.info({ deployment: id, model: modelName }, 'model updated');
    return this.view(this.byId.get(id) ?? this.missing(id));
  }

  async remove(id: string): Promise<{ id: string; model_name: string }> {
    const repository = this.requireRepository();
    const entry = this.byId.get(id);
    if (entry?.origin === 'config') {
      throw new GatewayError('invalid_request', `model "${id}" comes from the config file and cannot be deleted through the API: remove it from the config, or disable it with POST /model/${id}/disable`, { param: 'id' });
    }
    const row = await repository.find(id);
    if (!row || row.origin !== 'api' || !(await repository.delete(id))) throw modelIdNotFound(id, 'id');
    await this.changed();
    this.options.logger.info({ deployment: id, model: row.model_name }, 'model deleted');
    return { id, model_name: row.model_name ?? '' };
  }

  /** Disables or re-enables a model; config-file models get an override row keyed by their id. */
  async setEnabled(id: string, enabled: boolean): Promise<ModelView> {
    const repository = this.requireRepository();
    const entry = this.byId.get(id);
    const row = entry ? undefined : await repository.find(id);
    if (!entry && (!row || row.origin !== 'api')) throw modelIdNotFound(id, 'id');
    const now = Date.now();
    if (entry?.origin === 'config') await repository.setOverride(id, enabled, now);
    else await repository.update(id, { enabled: enabled ? 1 : 0, updated_at: now });
    await this.changed();
    this.options.logger.info({ deployment: id, model: entry?.deployment.modelName ?? row?.model_name }, enabled ? 'model enabled' : 'model disabled');
    return this.view(this.byId.get(id) ?? this.missing(id));
  }

  // ---- loading

  /** Reloads the stored models and rebuilds the catalog; calls run one after another. */
  reload(): Promise<void> {
    this.chain = this.chain.then(
      () => this.load(),
      () => this.load(),
    );
    return this.chain;
  }

  private async load(): Promise<void> {
    if (!this.repository) return;
    try {
      this.rebuild(await this.repository.list());
    } catch (error) {
      this.options.logger.warn({ err: (error as Error).message }, 'could not load the stored models; serving the previous set');
    }
  }

  private rebuild(rows: StoredModelRow[], announce = true): void {
    this.rows = rows;
    const overrides = new Map(rows.filter((row) => row.origin === 'config').map((row) => [row.id, row.enabled === 1]));
    const entries: RegistryEntry[] = this.configModels.map((model) => ({
      deployment: model.deployment,
      origin: 'config',
      enabled: overrides.get(model.deployment.id) ?? true,
      shownParams: model.shownParams,
      modelInfo: model.modelInfo,
    }));
    for (const entry of entries) this.refuseLoop(entry.deployment);
    const configIds = new Set(entries.map((entry) => entry.deployment.id));
    const signatures = new Map<string, string>();
    for (const row of rows) {
      if (row.origin !== 'api') continue;
      if (configIds.has(row.id)) {
        this.options.logger.warn({ deployment: row.id }, 'a stored model has the id of a config-file model; the config file wins');
        continue;
      }
      const entry = this.buildStored(row);
      if (entry) this.refuseLoop(entry.deployment);
      if (entry) entries.push(entry);
      signatures.set(row.id, JSON.stringify([row.model_name, row.litellm_params, row.secrets, row.model_info]));
    }
    const changed = [...signatures].filter(([id, signature]) => this.signatures.has(id) && this.signatures.get(id) !== signature).map(([id]) => id);
    this.signatures = signatures;
    const previous = new Set(this.byId.keys());
    this.entryList = entries;
    this.byId = new Map(entries.map((entry) => [entry.deployment.id, entry]));
    const enabled = entries.filter((entry) => entry.enabled).map((entry) => entry.deployment);
    this.options.catalog.replace(enabled, this.aliases);
    const served = new Set(enabled.map((deployment) => deployment.modelName));
    this.options.catalog.setDisabledGroups(entries.filter((entry) => !entry.enabled && !served.has(entry.deployment.modelName)).map((entry) => entry.deployment.modelName));
    const added = enabled.map((deployment) => deployment.id).filter((id) => !previous.has(id));
    if (announce && added.length > 0) this.options.onDeploymentsAdded?.(added);
    if (announce && changed.length > 0) this.options.onDeploymentsChanged?.(changed);
  }

  /** Marks a deployment whose api_base is this gateway's own address unavailable (its calls would loop). */
  private refuseLoop(deployment: Deployment): void {
    if (!this.ownAddress || !deployment.available || !deployment.apiBase) return;
    const problem = apiBaseProblem(deployment.apiBase, { allowInternal: true, ownAddress: this.ownAddress });
    if (!problem) return;
    deployment.available = false;
    deployment.unavailableReason = `api_base refused: ${problem}`;
    this.options.logger.error({ deployment: deployment.id, model: deployment.modelName }, `api_base refused: ${problem}`);
  }

  /** A stored model as a deployment, built exactly like a config entry. */
  private buildStored(row: StoredModelRow): RegistryEntry | undefined {
    const plain = parseObject(row.litellm_params);
    const sealed = parseObject(row.secrets) as Record<string, string>;
    const { opened, failures } = this.openSecrets(sealed);
    const failure = failures.at(-1);
    const named = withCredential({ ...plain, ...opened }, this.options.loaded.credentials);
    const { resolved, missing } = resolveParams(named.params, this.options.loaded.env);
    const modelInfo = { ...parseObject(row.model_info), id: row.id };
    const parsed = modelEntrySchema.safeParse({ model_name: row.model_name, litellm_params: resolved, model_info: modelInfo });
    if (!parsed.success) {
      this.options.logger.warn({ deployment: row.id, problem: parsed.error.issues[0]?.message }, 'a stored model is not valid any more; skipped');
      return undefined;
    }
    const deployment = buildDeployment(parsed.data, deploymentContextOf(this.options.loaded), missing);
    if (failure) {
      deployment.available = false;
      deployment.unavailableReason = `its stored credentials cannot be decrypted (${failure.reason})`;
    }
    if (named.problem) {
      deployment.available = false;
      deployment.unavailableReason = `litellm_params.litellm_credential_name: ${named.problem}`;
    }
    const shownParams = { ...maskParams(plain) };
    for (const field of Object.keys(sealed)) shownParams[field] = mask(opened[field]);
    return { deployment, origin: 'api', enabled: row.enabled === 1, shownParams, modelInfo: withoutId(modelInfo), createdAt: Number(row.created_at), updatedAt: Number(row.updated_at) };
  }

  /** The checks the config loader applies to a model_list entry, as a 400 naming the field. */
  private validate(modelName: string, given: Record<string, unknown>, modelInfo: Record<string, unknown>): void {
    const named = withCredential(given, this.options.loaded.credentials);
    if (named.problem) throw new GatewayError('invalid_request', `litellm_params.litellm_credential_name: ${named.problem}`, { param: 'litellm_params.litellm_credential_name' });
    const params = named.params;
    const { resolved } = resolveParams(params, this.options.loaded.env);
    // An unset os.environ/ variable does not fail validation (the model is then unavailable, as in the config).
    for (const [field, value] of Object.entries(params)) if (isEnvironmentReference(value) && resolved[field] === undefined) resolved[field] = field === 'api_base' || field === 'base_url' ? 'http://unset.invalid' : 'unset';
    const parsed = modelEntrySchema.safeParse({ model_name: modelName, litellm_params: resolved, model_info: modelInfo });
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const path = issue.path.join('.');
      throw new GatewayError('invalid_request', `${path}: ${issue.message}`, { param: path });
    }
    // A model added at run time must be callable: a provider this version does not serve is a 400, not an unavailable entry.
    const provider = modelProvider(parsed.data.litellm_params.model, parsed.data.litellm_params.custom_llm_provider);
    if (!provider.spec) throw new GatewayError('invalid_request', `litellm_params.model: ${provider.unavailableReason} (served: ${knownProviderIds().join(', ')})`, { param: 'litellm_params.model' });
    this.validateApiBase(parsed.data.litellm_params);
  }

  /** A 400 for an api_base the gateway must not call (another scheme, metadata, link-local, itself). */
  private validateApiBase(params: { api_base?: string; base_url?: string }): void {
    const allowInternal = this.options.loaded.config.general_settings.allow_internal_api_base === true;
    for (const field of ['api_base', 'base_url'] as const) {
      const value = params[field];
      if (value === undefined || value === 'http://unset.invalid') continue;
      const problem = apiBaseProblem(value, { allowInternal, ownAddress: this.ownAddress });
      if (problem) throw new GatewayError('invalid_request', `litellm_params.${field}: ${problem}`, { param: `litellm_params.${field}` });
    }
  }

  /** Credentials sealed (refused without an encryption key); everything else kept as is. */
  private split(params: Record<string, unknown>): { plain: Record<string, unknown>; secrets: Record<string, string> } {
    const plain: Record<string, unknown> = {};
    const secrets: Record<string, string> = {};
    for (const [field, value] of Object.entries(params)) {
      if (value === undefined) continue;
      if (!isSecretField(field) || isEnvironmentReference(value)) {
        plain[field] = value;
        continue;
      }
      if (!this.options.secretBox) {
        throw new GatewayError(
          'invalid_request',
          `litellm_params.${field} is a credential and credentials are stored encrypted: set SWITCHBOARD_ENCRYPTION_KEY (32 bytes as 64 hex characters, e.g. from \`openssl rand -hex 32\`) on every replica, or pass "os.environ/VARIABLE" to read it from the environment`,
          { param: `litellm_params.${field}` },
        );
      }
      secrets[field] = this.options.secretBox.seal(JSON.stringify(value));
    }
    return { plain, secrets };
  }

  /** Stored credentials opened; each one that cannot be (no key, another key, damaged) is listed with why. */
  private openSecrets(sealed: Record<string, string>): { opened: Record<string, unknown>; failures: Array<{ field: string; reason: string }> } {
    const opened: Record<string, unknown> = {};
    const failures: Array<{ field: string; reason: string }> = [];
    for (const [field, value] of Object.entries(sealed)) {
      try {
        if (!this.options.secretBox) throw new Error('SWITCHBOARD_ENCRYPTION_KEY is not set');
        opened[field] = JSON.parse(this.options.secretBox.open(value));
      } catch (error) {
        failures.push({ field, reason: (error as Error).message });
      }
    }
    return { opened, failures };
  }

  /** An update revalidates the whole model, so a credential it cannot open is a 400 asking for it again. */
  private openSecretsForUpdate(sealed: Record<string, string>): Record<string, unknown> {
    const { opened, failures } = this.openSecrets(sealed);
    const [failure] = failures;
    if (failure) {
      throw new GatewayError('invalid_request', `cannot update this model: its stored litellm_params.${failure.field} cannot be decrypted (${failure.reason}); send litellm_params.${failure.field} again`, { param: `litellm_params.${failure.field}` });
    }
    return opened;
  }

  /** After a change made here: rebuild here at once, then tell every other replica. */
  private async changed(): Promise<void> {
    const repository = this.requireRepository();
    this.feed.noteVersion(await repository.bumpVersion());
    await this.reload();
    await this.feed.publish();
  }

  private requireRepository(): ModelRepository {
    if (!this.repository) throw databaseNotReady();
    return this.repository;
  }

  private missing(id: string): never {
    throw new GatewayError('internal', `model "${id}" was saved but could not be built; see the log`);
  }

  async close(): Promise<void> {
    await this.feed.close();
  }
}

/**
 * The prices a deployment is billed at, in LiteLLM's model_info names (USD per token), and where
 * they come from: "configured" (model_info or litellm_params), "free" (a local provider) or
 * "built_in" (the gateway's price table, billing/pricing.ts). All null when no price is known
 * (unknown is not free), so every model_info carries the same fields.
 */
function effectivePrices(entry: RegistryEntry): { input_cost_per_token: number | null; output_cost_per_token: number | null; price_source: string | null; [rate: string]: number | string | null | undefined } {
  const prices = entry.deployment.prices;
  if (!prices) return { input_cost_per_token: null, output_cost_per_token: null, price_source: null };
  const usd = (pico: number) => pico / 1e12;
  const configured = ['input_cost_per_token', 'output_cost_per_token'].some((name) => typeof entry.modelInfo[name] === 'number' || typeof entry.shownParams[name] === 'number');
  const source = configured ? 'configured' : isLocalProvider(entry.deployment.provider) ? 'free' : 'built_in';
  return {
    input_cost_per_token: usd(prices.inputPerToken),
    output_cost_per_token: usd(prices.outputPerToken),
    ...(prices.cacheReadPerToken !== undefined ? { cache_read_input_token_cost: usd(prices.cacheReadPerToken) } : {}),
    ...(prices.cacheWritePerToken !== undefined ? { cache_creation_input_token_cost: usd(prices.cacheWritePerToken) } : {}),
    ...(prices.cacheWrite1hPerToken !== undefined ? { cache_creation_input_token_cost_above_1hr: usd(prices.cacheWrite1hPerToken) } : {}),
    ...(prices.imageInputPerToken !== undefined ? { input_cost_per_image_token: usd(prices.imageInputPerToken) } : {}),
    ...(prices.audioInputPerToken !== undefined ? { input_cost_per_audio_token: usd(prices.audioInputPerToken) } : {}),
    ...(prices.imageOutputPerToken !== undefined ? { output_cost_per_image_token: usd(prices.imageOutputPerToken) } : {}),
    ...longContextRates(prices.longContext, usd),
    price_source: source,
  };
}

/** A long-context tier in LiteLLM's names: `input_cost_per_token_above_200k_tokens`, … (`_above_128k_tokens` for a 128k threshold). */
function longContextRates(tier: LongContextPrices | undefined, usd: (pico: number) => number): Record<string, number> {
  if (!tier) return {};
  const suffix = `_above_${Math.round(tier.aboveTokens / 1000)}k_tokens`;
  return {
    [`input_cost_per_token${suffix}`]: usd(tier.inputPerToken),
    [`output_cost_per_token${suffix}`]: usd(tier.outputPerToken),
    ...(tier.cacheReadPerToken !== undefined ? { [`cache_read_input_token_cost${suffix}`]: usd(tier.cacheReadPerToken) } : {}),
    ...(tier.cacheWritePerToken !== undefined ? { [`cache_creation_input_token_cost${suffix}`]: usd(tier.cacheWritePerToken) } : {}),
  };
}

/** litellm_params with their `os.environ/` references resolved (config/environment-references.ts); paths inside the entry. */
function resolveParams(params: Record<string, unknown>, env: Record<string, string | undefined>): { resolved: Record<string, unknown>; missing: MissingVariable[] } {
  const missing: MissingVariable[] = [];
  const resolved = resolveReferences(params, ['litellm_params'], env, missing) as Record<string, unknown>;
  return { resolved, missing };
}

function maskParams(params: Record<string, unknown>): Record<string, unknown> {
  const shown: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(params)) {
    shown[field] = isSecretField(field) && !isEnvironmentReference(value) ? mask(value) : value;
  }
  return shown;
}

function mask(value: unknown): string {
  return typeof value === 'string' ? maskSecret(value) : '***';
}

function parseObject(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return isJsonObject(value) ? value : {};
  } catch {
    return {};
  }
}

function withoutId(info: Record<string, unknown>): Record<string, unknown> {
  const { id: _id, ...rest } = info;
  return rest;
}

function configModelsOf(loaded: LoadedConfig, deployments: Deployment[]): ConfigModel[] {
  return deployments.map((deployment, index) => {
    const entry = loaded.config.model_list[index];
    return { deployment, shownParams: maskParams(entry?.litellm_params ?? {}), modelInfo: { ...(entry?.model_info ?? {}) } };
  });
}
