/**
 * Local inference servers (src/backends/):
 *
 *   GET    /backends                           every backend: models, loaded state, health, deployments, pulls
 *   GET    /backends/{id}                      one backend
 *   POST   /backends/{id}/models/pull          {"model": "llama3.1:8b"}: starts an Ollama pull (202)
 *   GET    /backends/{id}/models/pull?model=   its progress (without ?model=: every pull on the backend)
 *   DELETE /backends/{id}/models/{model}       removes a model from an Ollama backend
 *
 * All need llm.manage_providers (they show api_base and change what the servers hold).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { callerWith, requirePermission } from '../../auth/permissions.js';
import type { Backend, BackendDirectory } from '../../backends/backend-directory.js';
import { hasModel, ollamaName } from '../../backends/backend-of.js';
import type { PullProgress } from '../../backends/backend-types.js';
import type { PullManager } from '../../backends/pull-manager.js';
import { GatewayError } from '../../errors.js';
import { parseInput } from '../../parse-input.js';
import type { HealthMonitor } from '../../routing/health-monitor.js';
import type { BackendModelView, BackendView, BackendsAnswer, PullView } from '../backend-views.js';
import { oneValue } from '../query-fields.js';

export interface BackendRouteDependencies {
  directory: BackendDirectory;
  pulls: PullManager;
  health: HealthMonitor;
}

const pullBody = z.object({ model: z.string({ required_error: 'is required: the Ollama model to pull, e.g. "llama3.1:8b"' }) }).strict();
const pullQuery = z.object({ model: oneValue().optional() }).strict();

const iso = (time: number | undefined) => (time === undefined ? null : new Date(time).toISOString());

export function pullView(pull: PullProgress): PullView {
  return {
    model: pull.model,
    state: pull.state,
    status: pull.status,
    completed: pull.completed,
    total: pull.total,
    percent: pull.total > 0 ? Math.min(100, Math.floor((pull.completed / pull.total) * 1000) / 10) : pull.state === 'succeeded' ? 100 : null,
    error: pull.error ?? null,
    started_by: pull.startedBy ?? null,
    started_at: new Date(pull.startedAt).toISOString(),
    finished_at: iso(pull.finishedAt),
  };
}

export function backendView(backend: Backend, deps: Pick<BackendRouteDependencies, 'directory' | 'health'>): BackendView {
  const { ref } = backend;
  const inventory = deps.directory.inventory(ref.id);
  const loaded = new Map((inventory?.loaded ?? []).map((model) => [ollamaName(model.name), model]));
  const models: BackendModelView[] = (inventory?.models ?? []).map((model) => {
    const running = ref.kind === 'ollama' ? loaded.get(ollamaName(model.name)) : undefined;
    return {
      name: model.name,
      size: model.size ?? null,
      digest: model.digest ?? null,
      modified_at: model.modifiedAt ?? null,
      family: model.family ?? null,
      parameter_size: model.parameterSize ?? null,
      quantization: model.quantization ?? null,
      max_model_len: model.maxModelLen ?? null,
      loaded: inventory?.loaded ? running !== undefined : null,
      size_vram: running?.sizeVram ?? null,
      expires_at: running?.expiresAt ?? null,
    };
  });
  const known = inventory?.reachable === true;
  const deployments = backend.deployments.map(({ deployment, active }) => {
    const record = deps.health.statusOf(deployment.id);
    return {
      deployment_id: deployment.id,
      model_name: deployment.modelName,
      model: deployment.upstreamModel,
      provider: deployment.provider,
      active,
      status: record?.status ?? 'unknown',
      last_error: record?.lastError ?? null,
      model_present: known ? hasModel(ref.kind, inventory.models, deployment.upstreamModel) : null,
    };
  });
  const missing = [...new Set(deployments.filter((item) => item.active && item.model_present === false).map((item) => item.model))];
  return {
    id: ref.id,
    kind: ref.kind,
    providers: [...new Set(backend.deployments.map((item) => item.deployment.provider))].sort(),
    api_base: ref.baseUrl,
    status: inventory === undefined ? 'unknown' : inventory.reachable ? 'up' : 'down',
    error: inventory?.error ?? null,
    last_checked: iso(inventory?.checkedAt),
    models,
    deployments,
    missing_models: missing,
    pulls: deps.directory.pulls(ref.id).sort((a, b) => b.startedAt - a.startedAt).map(pullView),
    warm_ups: (inventory?.warmUps ?? []).map((warm) => ({ model: warm.model, load_ms: warm.loadMs, server_load_ms: warm.serverLoadMs ?? null, at: new Date(warm.at).toISOString(), error: warm.error ?? null })),
    manageable: ref.kind === 'ollama',
  };
}

function backendParam(request: FastifyRequest, directory: BackendDirectory): Backend {
  const id = (request.params as { id: string }).id;
  const backend = directory.backend(id);
  if (!backend) throw new GatewayError('not_found', `no backend ${id} (GET /backends lists them)`);
  return backend;
}

function actor(request: FastifyRequest): string {
  const caller = callerWith(request, 'llm.manage_providers');
  return caller.keyAlias ?? caller.userId ?? (caller.keyHash === null ? 'master key' : `key ${caller.keyId ?? 'unknown'}`);
}

export function registerBackendRoutes(app: FastifyInstance, deps: BackendRouteDependencies): void {
  const permission = { preHandler: requirePermission('llm.manage_providers') };

  app.get('/backends', permission, async (): Promise<BackendsAnswer> => ({ backends: deps.directory.backends().map((backend) => backendView(backend, deps)) }));

  app.get('/backends/:id', permission, async (request): Promise<BackendView> => backendView(backendParam(request, deps.directory), deps));

  app.post('/backends/:id/models/pull', permission, async (request, reply) => {
    const backend = backendParam(request, deps.directory);
    const { model } = parseInput(pullBody, request.body);
    const progress = await deps.pulls.start(backend.ref.id, model, actor(request));
    return reply.code(202).send(pullView(progress));
  });

  app.get('/backends/:id/models/pull', permission, async (request) => {
    const backend = backendParam(request, deps.directory);
    const { model } = parseInput(pullQuery, request.query, 'query');
    if (model === undefined) return { pulls: deps.directory.pulls(backend.ref.id).map(pullView) };
    const pull = deps.directory.pull(backend.ref.id, model);
    if (!pull) throw new GatewayError('not_found', `no pull of ${model} on ${backend.ref.baseUrl}`);
    return pullView(pull);
  });

  app.delete('/backends/:id/models/*', permission, async (request) => {
    const backend = backendParam(request, deps.directory);
    const model = (request.params as { '*': string })['*'];
    await deps.pulls.remove(backend.ref.id, model, actor(request));
    return { deleted: model, backend: backendView(deps.directory.backend(backend.ref.id) ?? backend, deps) };
  });
}
