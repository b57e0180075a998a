/**
 * The agents every replica serves from memory (the request path never awaits the database): the
 * config file's `agents:` at start, then what the database holds once it is ready. Changes made
 * through the API are stored, applied here at once, and reach every other replica within a second
 * through the change feed (Redis pub/sub, and the `agents` change version polled every 500 ms).
 *
 * config.yaml's agents are seeded into the database when absent; a stored agent (edited through the
 * API) keeps its edits across restarts. Deleting an agent the config file defines is refused: it
 * would come back on the next start (pause it instead, or remove it from config.yaml first).
 */
import type { Logger } from 'pino';
import { databaseNotReady, GatewayError } from '../errors.js';
import type { ModelCatalog } from '../routing/catalog.js';
import { ChangeFeed } from '../state/change-feed.js';
import type { AgentRepository } from '../storage/repositories/agents.js';
import { agentFromCreate, agentNameOf, agentWithPatch, checkAgent, type AgentDefinition } from './definition.js';

export interface AgentDirectoryOptions {
  /** The config file's agents, already validated. */
  configured: AgentDefinition[];
  catalog: ModelCatalog;
  logger: Logger;
  redisUrl?: string;
  redisPrefix?: string;
  pollIntervalMs?: number;
}

export interface AgentEntry {
  agent: AgentDefinition;
  source: 'config' | 'api';
  updatedAt: number | null;
}

export class AgentDirectory {
  private agents = new Map<string, AgentEntry>();
  private repository: AgentRepository | undefined;
  private readonly feed: ChangeFeed;
  private chain: Promise<void> = Promise.resolve();
  private configNames: Set<string>;

  constructor(private readonly options: AgentDirectoryOptions) {
    this.configNames = new Set(options.configured.map((agent) => agent.name));
    for (const agent of options.configured) this.agents.set(agent.name, { agent, source: 'config', updatedAt: null });
    this.feed = new ChangeFeed({ name: 'agents', logger: options.logger, reload: () => this.reload(), redisUrl: options.redisUrl, redisPrefix: options.redisPrefix, pollIntervalMs: options.pollIntervalMs });
  }

  async start(): Promise<void> {
    await this.feed.start();
  }

  /** Once the database is ready: seeds the config file's agents, loads every stored one, polls the version. */
  async attach(repository: AgentRepository): Promise<void> {
    this.repository = repository;
    await this.feed.attach(repository);
    await this.seedConfigured(repository);
  }

  /** Stores the config file's agents that are not stored yet, loads every stored one, and says where the two differ. */
  private async seedConfigured(repository: AgentRepository): Promise<void> {
    const version = await repository.seed(this.options.configured.map((agent) => ({ name: agent.name, definition: withoutName(agent) })), Date.now());
    this.feed.noteVersion(version);
    await this.reload();
    // Said, not silently ignored: a config agent whose stored copy was edited keeps the edits.
    for (const agent of this.options.configured) {
      const stored = this.agents.get(agent.name)?.agent;
      if (stored && JSON.stringify(stored) !== JSON.stringify(agent)) {
        this.options.logger.warn({ agent: agent.name }, 'config.yaml defines this agent differently from the stored one (changed through the API): the stored one is served; PATCH /agents/{name} to change it');
      }
    }
  }

  /**
   * A re-read config.yaml (hot reload): agents it adds are stored and served; agents it changes
   * keep their stored copy (as at start: the API's edits win, and the log says so).
   */
  async replaceConfigured(configured: AgentDefinition[]): Promise<void> {
    this.options.configured = configured;
    this.configNames = new Set(configured.map((agent) => agent.name));
    for (const agent of configured) if (!this.agents.has(agent.name)) this.agents.set(agent.name, { agent, source: 'config', updatedAt: null });
    if (this.repository) await this.seedConfigured(this.repository);
  }

  /** The agent named, from memory (the request path calls this). */
  get(name: string): AgentDefinition | undefined {
    return this.agents.get(name)?.agent;
  }

  /** The current model group of `agent/<name>`; undefined for any other model, or an unknown agent. */
  modelOf(model: string): string | undefined {
    const name = agentNameOf(model);
    return name === undefined ? undefined : this.get(name)?.model;
  }

  entry(name: string): AgentEntry | undefined {
    return this.agents.get(name);
  }

  list(): AgentEntry[] {
    return [...this.agents.values()].sort((a, b) => a.agent.name.localeCompare(b.agent.name));
  }

  /** The agent, or the 404 naming it. */
  require(name: string): AgentDefinition {
    const agent = this.get(name);
    if (!agent) throw new GatewayError('agent_not_found', `agent "${name}" does not exist; GET /agents lists the agents`, { param: 'name' });
    return agent;
  }

  async create(body: unknown): Promise<AgentDefinition> {
    const agent = agentFromCreate(body);
    this.checkModels(agent);
    const { saved, version } = await this.requireRepository().save(agent.name, withoutName(agent), Date.now(), true);
    if (!saved) throw new GatewayError('conflict', `agent "${agent.name}" already exists; PATCH /agents/${agent.name} changes it`, { param: 'name' });
    await this.changed(version);
    this.options.logger.info({ agent: agent.name, model: agent.model }, 'agent created');
    return this.require(agent.name);
  }

  async update(name: string, body: unknown): Promise<AgentDefinition> {
    const agent = agentWithPatch(this.require(name), body);
    this.checkModels(agent);
    const repository = this.requireRepository();
    let { saved, version } = await repository.save(name, withoutName(agent), Date.now(), false);
    if (!saved && this.configNames.has(name)) {
      // A config.yaml agent served from memory before its seed reached the database (just after start): seed, then save.
      await this.seedConfigured(repository);
      ({ saved, version } = await repository.save(name, withoutName(agent), Date.now(), false));
    }
    if (!saved) throw new GatewayError('agent_not_found', `agent "${name}" does not exist; GET /agents lists the agents`, { param: 'name' });
    await this.changed(version);
    this.options.logger.info({ agent: name, model: agent.model, status: agent.status }, 'agent changed');
    return this.require(name);
  }

  async remove(name: string): Promise<void> {
    this.require(name);
    if (this.configNames.has(name)) throw new GatewayError('invalid_request', `agent "${name}" is defined in config.yaml and would come back on the next start; pause it (POST /agents/${name}/pause) or remove it from the config file first`, { param: 'name' });
    const { removed, version } = await this.requireRepository().remove(name, Date.now());
    if (!removed) throw new GatewayError('agent_not_found', `agent "${name}" does not exist`, { param: 'name' });
    await this.changed(version);
    this.options.logger.info({ agent: name }, 'agent deleted');
  }

  /** The model and fallbacks must be model groups (or aliases) the gateway knows. */
  private checkModels(agent: AgentDefinition): void {
    const { catalog } = this.options;
    const known = (name: string) => catalog.resolve(name) !== undefined || catalog.disabledGroup(name) !== undefined;
    const names = catalog.listedModels().map((item) => item.id).join(', ') || 'none';
    if (!known(agent.model)) throw new GatewayError('invalid_request', `model: unknown model group "${agent.model}" (known: ${names})`, { param: 'model' });
    agent.fallbacks.forEach((fallback, index) => {
      if (!known(fallback)) throw new GatewayError('invalid_request', `fallbacks.${index}: unknown model group "${fallback}" (known: ${names})`, { param: `fallbacks.${index}` });
    });
  }

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
      const stored = await this.repository.list();
      const next = new Map<string, AgentEntry>();
      for (const row of stored) {
        try {
          const agent = checkAgent(agentFromCreate({ name: row.name, ...(row.definition as object) }));
          next.set(row.name, { agent, source: row.source === 'config' ? 'config' : 'api', updatedAt: row.updatedAt });
        } catch (error) {
          this.options.logger.warn({ agent: row.name, err: (error as Error).message }, 'a stored agent is not valid any more; not served');
        }
      }
      this.agents = next;
    } catch (error) {
      this.options.logger.warn({ err: (error as Error).message }, 'could not load the stored agents; keeping the current ones');
    }
  }

  private async changed(version: number): Promise<void> {
    this.feed.noteVersion(version);
    await this.reload();
    await this.feed.publish();
  }

  private requireRepository(): AgentRepository {
    if (!this.repository) throw databaseNotReady();
    return this.repository;
  }

  async close(): Promise<void> {
    await this.feed.close();
  }
}

function withoutName(agent: AgentDefinition): Omit<AgentDefinition, 'name'> {
  const { name: _name, ...rest } = agent;
  return rest;
}
