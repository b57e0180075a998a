/**
 * The routing rules in force: config.yaml's (`platform.routing_rules`, read-only) and those added
 * through the API (stored in `routing_rules`), in priority order. The request path reads the
 * in-memory list; a change made on any replica reaches the others within a second (ChangeFeed:
 * Redis pub/sub, and the change version polled every 500 ms).
 */
import { isJsonObject } from '../json-object.js';
import type { Logger } from 'pino';
import { databaseNotReady, GatewayError } from '../errors.js';
import type { ModelCatalog } from '../routing/catalog.js';
import { ChangeFeed } from '../state/change-feed.js';
import type { RoutingRuleRepository } from '../storage/repositories/routing-rules.js';
import type { RoutingRuleTable } from '../storage/schema.js';
import { parseInput } from '../parse-input.js';
import { sortRules, type RoutingRule } from './routing-rules.js';
import { routingRuleSchema, type RoutingRuleConfig } from './rule-schema.js';

export interface RuleStoreOptions {
  configRules: RoutingRuleConfig[];
  logger: Logger;
  redisUrl?: string;
  redisPrefix?: string;
  pollIntervalMs?: number;
}

export class RoutingRuleStore {
  private configRules: RoutingRule[];
  private stored: RoutingRule[] = [];
  private ordered: RoutingRule[];
  private repository: RoutingRuleRepository | undefined;
  private readonly feed: ChangeFeed;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly options: RuleStoreOptions) {
    this.configRules = options.configRules.map((rule) => ({ ...rule, source: 'config', createdAt: null, updatedAt: null }));
    this.ordered = sortRules([...this.configRules]);
    this.feed = new ChangeFeed({ name: 'routing-rules', logger: options.logger, reload: () => this.reload(), redisUrl: options.redisUrl, redisPrefix: options.redisPrefix, pollIntervalMs: options.pollIntervalMs });
  }

  start(): Promise<void> {
    return this.feed.start();
  }

  /** A re-read config.yaml (hot reload): its rules replace the file's previous ones; stored rules stay. */
  replaceConfigRules(configRules: RoutingRuleConfig[]): void {
    this.configRules = configRules.map((rule) => ({ ...rule, source: 'config', createdAt: null, updatedAt: null }));
    this.ordered = sortRules([...this.configRules, ...this.stored]);
  }

  async attach(repository: RoutingRuleRepository): Promise<void> {
    this.repository = repository;
    await this.feed.attach(repository);
    await this.reload();
  }

  close(): Promise<void> {
    return this.feed.close();
  }

  /** Every rule, enabled or not, in the order they are tried. */
  rules(): readonly RoutingRule[] {
    return this.ordered;
  }

  find(name: string): RoutingRule | undefined {
    return this.ordered.find((rule) => rule.name === name);
  }

  /** The first rule (enabled or not) whose `match.key_aliases` names this key alias, if any. */
  namingKeyAlias(alias: string): RoutingRule | undefined {
    return this.ordered.find((rule) => rule.match.key_aliases?.includes(alias) === true);
  }

  /** Adds a rule (400 when invalid, 409 when its name is taken). */
  async create(body: unknown, catalog: ModelCatalog): Promise<RoutingRule> {
    const repository = this.requireRepository();
    const rule = this.validate(body, catalog);
    if (this.configRules.some((item) => item.name === rule.name)) throw nameTaken(rule.name, 'config.yaml');
    const now = Date.now();
    if (!(await repository.insert(toRow(rule, now, now)))) throw nameTaken(rule.name, 'a stored rule');
    await this.changed();
    return this.find(rule.name) ?? { ...rule, source: 'api', createdAt: now, updatedAt: now };
  }

  /** Changes the fields given of a stored rule (config.yaml's are read-only). */
  async update(name: string, body: unknown, catalog: ModelCatalog): Promise<RoutingRule> {
    const repository = this.requireRepository();
    const current = this.requireStored(name);
    if (!isJsonObject(body)) throw new GatewayError('invalid_request', 'the body must be a JSON object of the fields to change', { param: 'body' });
    const { source: _source, createdAt, updatedAt: _updatedAt, ...fields } = current;
    const rule = this.validate({ ...fields, ...body }, catalog);
    if (rule.name !== name && this.find(rule.name)) throw nameTaken(rule.name, 'another rule');
    if (!(await repository.replace(name, toRow(rule, createdAt ?? Date.now(), Date.now())))) throw notFound(name);
    await this.changed();
    return this.find(rule.name)!;
  }

  async remove(name: string): Promise<void> {
    const repository = this.requireRepository();
    this.requireStored(name);
    if (!(await repository.delete(name, Date.now()))) throw notFound(name);
    await this.changed();
  }

  private requireStored(name: string): RoutingRule {
    const rule = this.find(name);
    if (!rule) throw notFound(name);
    if (rule.source === 'config') throw new GatewayError('invalid_request', `routing rule "${name}" comes from config.yaml (platform.routing_rules): change it there and restart`, { param: 'name' });
    return rule;
  }

  /** A rule as config.yaml would take it, whose route_to names model groups the gateway knows. */
  private validate(body: unknown, catalog: ModelCatalog): RoutingRuleConfig {
    const rule = parseInput(routingRuleSchema, body);
    for (const name of rule.action.route_to ?? []) {
      if (catalog.resolve(name) || catalog.disabledGroup(name)) continue;
      throw new GatewayError('invalid_request', `action.route_to: unknown model group "${name}" (known: ${catalog.listedModels().map((item) => item.id).join(', ') || 'none'})`, { param: 'action.route_to' });
    }
    return rule;
  }

  /** Reloads the stored rules; calls run one after another. */
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
      const stored: RoutingRule[] = [];
      for (const row of await this.repository.list()) {
        const parsed = routingRuleSchema.safeParse({ name: row.name, priority: Number(row.priority), enabled: Number(row.enabled) === 1, match: JSON.parse(row.match), action: JSON.parse(row.action) });
        if (!parsed.success) {
          this.options.logger.warn({ rule: row.name }, 'a stored routing rule is not valid any more; ignored');
          continue;
        }
        stored.push({ ...parsed.data, source: 'api', createdAt: Number(row.created_at), updatedAt: Number(row.updated_at) });
      }
      this.stored = stored;
      this.ordered = sortRules([...this.configRules, ...stored]);
    } catch (error) {
      this.options.logger.warn({ err: (error as Error).message }, 'could not load the stored routing rules; keeping the current ones');
    }
  }

  private async changed(): Promise<void> {
    this.feed.noteVersion(await this.requireRepository().version());
    await this.reload();
    await this.feed.publish();
  }

  private requireRepository(): RoutingRuleRepository {
    if (!this.repository) throw databaseNotReady();
    return this.repository;
  }

  /** Logs config.yaml's rules whose route_to names a model group the gateway does not serve. */
  warnUnknownTargets(catalog: ModelCatalog): void {
    for (const rule of this.configRules) {
      const unknown = (rule.action.route_to ?? []).filter((name) => !catalog.resolve(name) && !catalog.disabledGroup(name));
      if (unknown.length > 0) this.options.logger.warn({ rule: rule.name, unknown }, 'routing rule routes to model groups this gateway does not serve; they are skipped (a call the rule matches with none callable gets 503)');
    }
  }

  /** The stored rules only (for tests and the admin view). */
  storedRules(): readonly RoutingRule[] {
    return this.stored;
  }
}

function toRow(rule: RoutingRuleConfig, createdAt: number, updatedAt: number): RoutingRuleTable {
  return { name: rule.name, priority: rule.priority, enabled: rule.enabled ? 1 : 0, match: JSON.stringify(rule.match), action: JSON.stringify(rule.action), created_at: createdAt, updated_at: updatedAt };
}

function nameTaken(name: string, where: string): GatewayError {
  return new GatewayError('conflict', `a routing rule named "${name}" already exists (${where}); pick another name`, { param: 'name' });
}

function notFound(name: string): GatewayError {
  return new GatewayError('not_found', `no routing rule "${name}"; GET /api/v1/llm/routing/rules lists them`, { param: 'name' });
}
