/**
 * Router settings changed at run time (PATCH /router/settings, LiteLLM's POST /config/update),
 * stored in `gateway_settings` on top of config.yaml's router_settings and applied to the Router at
 * once: the new policy replaces the old one as a whole (Router.setPolicy), so a request sees either
 * the old or the new settings, never a mix.
 *
 * Replicas converge within a second like the model registry (model-registry.ts): a change is
 * announced on Redis pub/sub when there is Redis, and the `gateway_settings` change version in the
 * database is polled every 500 ms in any case; either makes a replica reload the stored overrides.
 *
 * Values are validated by the config schema (routerSettingsSchema), so a setting accepted here is
 * exactly one config.yaml would accept; fallback chains must name model groups the gateway knows.
 */
import { ChangeFeed } from '../state/change-feed.js';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { LoadedConfig } from '../config/load.js';
import { isJsonObject } from '../json-object.js';
import { routerSettingsSchema, type GatewayConfig } from '../config/schema.js';
import { databaseNotReady, GatewayError } from '../errors.js';
import type { GatewaySettingsRepository } from '../storage/repositories/gateway-settings.js';
import type { ModelCatalog } from './catalog.js';
import { routerPolicyFrom, type RouterPolicy } from './policy.js';

/** The router_settings that can change at run time (LiteLLM's names). */
export const EDITABLE_ROUTER_SETTINGS = [
  'routing_strategy',
  'num_retries',
  'retry_after',
  'allowed_fails',
  'cooldown_time',
  'disable_cooldowns',
  'timeout',
  'fallbacks',
  'context_window_fallbacks',
  'content_policy_fallbacks',
  'default_fallbacks',
  'max_fallbacks',
  'retry_policy',
] as const;
export type EditableRouterSetting = (typeof EDITABLE_ROUTER_SETTINGS)[number];

const EDITABLE = new Set<string>(EDITABLE_ROUTER_SETTINGS);
const PREFIX = 'router_settings.';
const FALLBACK_LISTS = new Set(['fallbacks', 'context_window_fallbacks', 'content_policy_fallbacks']);
/** Settings that litellm_settings can also hold: an override replaces both. */
const SHADOWED_IN_LITELLM: Partial<Record<EditableRouterSetting, string>> = {
  fallbacks: 'fallbacks',
  context_window_fallbacks: 'context_window_fallbacks',
  content_policy_fallbacks: 'content_policy_fallbacks',
  default_fallbacks: 'default_fallbacks',
  num_retries: 'num_retries',
  timeout: 'request_timeout',
};

export type RouterOverrides = Partial<Record<EditableRouterSetting, unknown>>;

export interface RouterSettingsStoreOptions {
  loaded: LoadedConfig;
  catalog: ModelCatalog;
  logger: Logger;
  /** Told every new effective policy (the runtime passes Router.setPolicy). */
  apply: (policy: RouterPolicy) => void;
  redisUrl?: string;
  redisPrefix?: string;
  pollIntervalMs?: number;
}

export class RouterSettingsStore {
  private overrides: RouterOverrides = {};
  private repository: GatewaySettingsRepository | undefined;
  private readonly feed: ChangeFeed;
  private chain: Promise<void> = Promise.resolve();
  private loaded = false;

  constructor(private readonly options: RouterSettingsStoreOptions) {
    this.feed = new ChangeFeed({ name: 'gateway-settings', logger: options.logger, reload: () => this.reload(), redisUrl: options.redisUrl, redisPrefix: options.redisPrefix, pollIntervalMs: options.pollIntervalMs });
  }

  /** Starts the Redis subscription (if any). */
  async start(): Promise<void> {
    await this.feed.start();
  }


  /** Called once the database is ready: applies the stored overrides and starts the version poll. */
  async attach(repository: GatewaySettingsRepository): Promise<void> {
    this.repository = repository;
    await this.feed.attach(repository);
    await this.reload();
    this.loaded = true;
  }

  /** True once the stored overrides were read (and applied) the first time. */
  get ready(): boolean {
    return this.loaded;
  }

  /** A re-read config.yaml (hot reload): the stored overrides apply on top of it, as one new policy. */
  replaceConfig(loaded: LoadedConfig): void {
    this.options.loaded = loaded;
    this.options.apply(routerPolicyFrom(this.effectiveConfig()));
  }

  /** What the database changes on top of config.yaml. */
  currentOverrides(): RouterOverrides {
    return { ...this.overrides };
  }

  /** The config with the overrides applied (router_settings, and the litellm_settings they shadow). */
  effectiveConfig(overrides: RouterOverrides = this.overrides): GatewayConfig {
    const config = this.options.loaded.config;
    const litellm: Record<string, unknown> = { ...config.litellm_settings };
    for (const name of Object.keys(overrides) as EditableRouterSetting[]) {
      const shadowed = SHADOWED_IN_LITELLM[name];
      if (shadowed) delete litellm[shadowed];
    }
    return {
      ...config,
      router_settings: { ...config.router_settings, ...(overrides as Partial<GatewayConfig['router_settings']>) },
      litellm_settings: litellm as GatewayConfig['litellm_settings'],
    };
  }

  /**
   * Changes settings: each field given replaces the stored override, `null` removes it (back to
   * the config file's value). Validated like config.yaml; a 400 names the first bad field.
   */
  async update(body: unknown): Promise<RouterOverrides> {
    const repository = this.requireRepository();
    const changes = this.validate(body);
    await repository.apply(
      Object.entries(changes).map(([name, value]) => ({ name: PREFIX + name, value: value === null ? undefined : value })),
      Date.now(),
    );
    await this.changed();
    this.options.logger.info({ changed: Object.keys(changes) }, 'router settings changed');
    return this.currentOverrides();
  }

  /** Removes every override: the config file's router settings apply again. */
  async reset(): Promise<void> {
    const repository = this.requireRepository();
    await repository.clear(PREFIX, Date.now());
    await this.changed();
    this.options.logger.info('router settings reset to the config file');
  }

  /** The parsed changes (null = remove), or a 400 naming the field. */
  validate(body: unknown): Record<string, unknown> {
    if (!isJsonObject(body)) throw new GatewayError('invalid_request', 'the body must be a JSON object of router_settings, e.g. {"num_retries": 2, "fallbacks": [{"gpt-4o": ["gpt-4o-mini"]}]}', { param: 'body' });
    const entries = Object.entries(body);
    if (entries.length === 0) throw new GatewayError('invalid_request', `the body names no setting; editable: ${EDITABLE_ROUTER_SETTINGS.join(', ')}`, { param: 'body' });
    const shape = routerSettingsSchema.shape as Record<string, z.ZodTypeAny>;
    const changes: Record<string, unknown> = {};
    for (const [name, value] of entries) {
      if (!EDITABLE.has(name)) {
        const hint = name in shape ? 'it can only be set in config.yaml' : 'unknown setting';
        throw new GatewayError('invalid_request', `router_settings.${name}: ${hint}; editable at run time: ${EDITABLE_ROUTER_SETTINGS.join(', ')}`, { param: name });
      }
      if (value === null) {
        changes[name] = null;
        continue;
      }
      const parsed = shape[name].safeParse(value);
      if (!parsed.success || parsed.data === undefined) {
        const issue = parsed.success ? undefined : parsed.error.issues[0];
        const where = [name, ...(issue?.path ?? [])].join('.');
        throw new GatewayError('invalid_request', `router_settings.${where}: ${issue?.message ?? 'expected a value'}`, { param: name });
      }
      const negative = typeof parsed.data === 'number' ? parsed.data < 0 : name === 'retry_policy' && Object.values(parsed.data as Record<string, number>).some((count) => count < 0);
      if (negative) throw new GatewayError('invalid_request', `router_settings.${name}: must be zero or more`, { param: name });
      changes[name] = parsed.data;
    }
    for (const [name, value] of Object.entries(changes)) {
      if (value === null) continue;
      if (FALLBACK_LISTS.has(name)) {
        for (const entry of value as Array<Record<string, string[]>>) {
          for (const [group, targets] of Object.entries(entry)) for (const target of [group, ...targets]) this.requireGroup(name, target);
        }
      }
      if (name === 'default_fallbacks') for (const target of value as string[]) this.requireGroup(name, target);
    }
    return changes;
  }

  private requireGroup(setting: string, name: string): void {
    const { catalog } = this.options;
    if (catalog.resolve(name) || catalog.disabledGroup(name)) return;
    const known = catalog.listedModels().map((item) => item.id);
    throw new GatewayError('invalid_request', `router_settings.${setting}: unknown model group "${name}" (known: ${known.join(', ') || 'none'})`, { param: setting });
  }

  // ---- loading

  /** Reloads the stored overrides and applies them; calls run one after another. */
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
      const stored = await this.repository.list(PREFIX);
      const overrides: RouterOverrides = {};
      const shape = routerSettingsSchema.shape as Record<string, z.ZodTypeAny>;
      for (const setting of stored) {
        const name = setting.name.slice(PREFIX.length);
        const parsed = EDITABLE.has(name) ? shape[name].safeParse(setting.value) : undefined;
        if (!parsed?.success) {
          this.options.logger.warn({ setting: setting.name }, 'a stored router setting is not valid any more; ignored');
          continue;
        }
        overrides[name as EditableRouterSetting] = parsed.data;
      }
      const policy = routerPolicyFrom(this.effectiveConfig(overrides));
      this.overrides = overrides;
      this.options.apply(policy);
    } catch (error) {
      this.options.logger.warn({ err: (error as Error).message }, 'could not load the stored router settings; keeping the current ones');
    }
  }

  /** After a change made here: apply here at once, then tell every other replica. */
  private async changed(): Promise<void> {
    this.feed.noteVersion(await this.requireRepository().version());
    await this.reload();
    await this.feed.publish();
  }

  private requireRepository(): GatewaySettingsRepository {
    if (!this.repository) throw databaseNotReady();
    return this.repository;
  }

  async close(): Promise<void> {
    await this.feed.close();
  }
}
