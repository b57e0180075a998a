/**
 * LiteLLM's model management API: /model/new, /model/update, /model/delete, /model/info (and
 * /v1/model/info), plus enable/disable. Writes need `llm.manage_models`; reads `llm.read` (a virtual
 * key sees only the models it may use). Credentials are never returned: /model/info masks them, and
 * shows api_base and the masked key only to callers with `llm.manage_models`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { can, requirePermission } from '../../auth/permissions.js';
import { GatewayError, modelIdNotFound } from '../../errors.js';
import type { ModelRegistry } from '../../routing/model-registry.js';
import { parseInput } from '../../parse-input.js';
import { oneValue } from '../query-fields.js';
import { callOf } from '../context.js';
import { publicModelView } from '../admin-view.js';
import { visibleTo, type ModelVisibility } from '../model-visibility.js';

/** Longest model name or id stored (the model name a client sends is held to the same limit). */
const NAME_CHARS = 256;

/** A name or id: numbers are taken as their text (YAML and JSON clients send both). */
const text = (requiredError?: string) =>
  z.preprocess((value) => (typeof value === 'number' ? String(value) : value), z.string({ required_error: requiredError, invalid_type_error: 'expected a string' }).min(1, 'must not be empty').max(NAME_CHARS, `must be at most ${NAME_CHARS} characters`));

const newModelSchema = z.object({
  model_name: text('is required: the name clients send as "model"'),
  litellm_params: z.record(z.unknown(), { required_error: 'is required: {"model": "provider/model", "api_key": …, "api_base": …}', invalid_type_error: 'expected an object' }),
  model_info: z.record(z.unknown(), { invalid_type_error: 'expected an object' }).optional(),
});

const updateSchema = z.object({
  model_name: text().optional(),
  litellm_params: z.record(z.unknown(), { invalid_type_error: 'expected an object' }).optional(),
  model_info: z.record(z.unknown(), { invalid_type_error: 'expected an object' }).optional(),
  id: text().optional(),
});

const modelInfoQuery = z.object({ litellm_model_id: oneValue().optional(), model_id: oneValue().optional() });

/** The model an update names: in the path, else model_info.id, else id. */
function updatedId(fromPath: string | undefined, input: z.infer<typeof updateSchema>): string {
  const id = fromPath ?? input.model_info?.id ?? input.id;
  if (id === undefined || id === null || id === '') throw new GatewayError('invalid_request', 'model_info.id is required: the id of the model to update (GET /model/info lists them)', { param: 'model_info.id' });
  return String(id);
}

function idFromBody(body: unknown): string {
  const record = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const modelInfo = record.model_info as Record<string, unknown> | undefined;
  const id = record.id ?? record.model_id ?? modelInfo?.id;
  if ((typeof id !== 'string' && typeof id !== 'number') || String(id) === '') {
    throw new GatewayError('invalid_request', 'id is required: the model\'s id (model_info.id; GET /model/info lists them)', { param: 'id' });
  }
  return String(id);
}

function pathId(request: FastifyRequest): string {
  const id = (request.params as { id: string }).id;
  // The router decoded the path once; a second decode throws on a literal '%', so such an id is taken as it came.
  try {
    return decodeURIComponent(id);
  } catch {
    return id;
  }
}

export function registerModelRoutes(app: FastifyInstance, models: ModelRegistry, visibility?: ModelVisibility): void {
  app.post('/model/new', { preHandler: requirePermission('llm.manage_models') }, async (request) => {
    const view = await models.create(parseInput(newModelSchema, request.body));
    return { model_id: view.model_info.id, ...view };
  });

  const manageModels = { preHandler: requirePermission('llm.manage_models') };
  const update = async (request: FastifyRequest, idFromPath: string | undefined) => {
    const input = parseInput(updateSchema, request.body);
    const view = await models.update(updatedId(idFromPath, input), input);
    return { model_id: view.model_info.id, ...view };
  };
  app.post('/model/update', manageModels, (request) => update(request, undefined));
  app.patch('/model/:id/update', manageModels, (request) => update(request, pathId(request)));
  app.post('/model/:id/update', manageModels, (request) => update(request, pathId(request)));

  app.post('/model/delete', { preHandler: requirePermission('llm.manage_models') }, async (request) => {
    const deleted = await models.remove(idFromBody(request.body));
    return { message: `model ${deleted.id} deleted`, ...deleted };
  });

  const setEnabled = (enabled: boolean) => async (request: FastifyRequest) => {
    const id = (request.params as { id?: string }).id !== undefined ? pathId(request) : idFromBody(request.body);
    return models.setEnabled(id, enabled);
  };
  app.post('/model/:id/disable', manageModels, setEnabled(false));
  app.post('/model/:id/enable', manageModels, setEnabled(true));
  app.post('/model/disable', manageModels, setEnabled(false));
  app.post('/model/enable', manageModels, setEnabled(true));

  const info = async (request: FastifyRequest) => {
    const query = parseInput(modelInfoQuery, request.query, 'query');
    const wanted = query.litellm_model_id ?? query.model_id;
    const mayUse = visibleTo(callOf(request).caller, visibility);
    const entries = models.entries().filter((entry) => (!wanted || entry.deployment.id === wanted) && mayUse(entry.deployment));
    if (wanted && entries.length === 0) throw modelIdNotFound(wanted, 'litellm_model_id');
    // Where a model lives and how it authenticates is for those who manage models.
    const admin = can(request, 'llm.manage_models');
    return { data: entries.map((entry) => (admin ? models.view(entry) : publicModelView(models.view(entry)))) };
  };
  app.get('/model/info', { preHandler: requirePermission('llm.read') }, info);
  app.get('/v1/model/info', { preHandler: requirePermission('llm.read') }, info);
}
