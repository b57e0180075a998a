/**
 * LiteLLM's general_settings.enforce_user_param and enforced_params (litellm/proxy/auth/auth_checks.py
 * common_checks, _enforced_params_check): a virtual key's model call must name its end user, and must
 * carry each enforced parameter, or it is refused with 400 before anything is routed, counted or sent.
 *
 * - enforce_user_param: the end user may be named as on every route here (README "End users"): the
 *   body's `user`, Anthropic's `metadata.user_id`, or the end-user header (`x-litellm-end-user-id`,
 *   general_settings.user_header_name) — the header is how a Gemini-native call names one.
 * - enforced_params: each entry a field of the body, or a path into it with dots
 *   (`metadata.generation_name`); present means the key is there, as LiteLLM's `in` check.
 * - The master key is exempt (LiteLLM checks every other key); routes that call no model are not checked.
 * - Checked on JSON bodies. A multipart upload or a pass-through body is not read here (the gateway
 *   relays pass-through bodies unread): there only the end-user header satisfies enforce_user_param,
 *   and a call with enforced_params is refused naming the parameter it cannot check.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError } from '../errors.js';
import { isJsonObject } from '../json-object.js';
import { modelCallBody } from './context.js';

export interface RequiredParams {
  /** general_settings.enforce_user_param. */
  enforceUser: boolean;
  /** general_settings.enforced_params, each split at its dots. */
  params: string[][];
}

export function requiredParamsOf(settings: { enforce_user_param?: boolean; enforced_params?: string[] | null }): RequiredParams | undefined {
  const params = (settings.enforced_params ?? []).map((param) => param.split('.'));
  const enforceUser = settings.enforce_user_param === true;
  return enforceUser || params.length > 0 ? { enforceUser, params } : undefined;
}

/** `metadata.user_id` names the end user on Anthropic's routes only (gateway/end-user.ts); elsewhere it names nobody. */
function namesEndUser(body: Record<string, unknown>, endpoint: string): boolean {
  if (typeof body.user === 'string' && body.user.trim() !== '') return true;
  if (endpoint !== 'messages' && !endpoint.startsWith('anthropic/')) return false;
  const metadata = body.metadata;
  return isJsonObject(metadata) && typeof metadata.user_id === 'string' && metadata.user_id.trim() !== '';
}

function has(body: Record<string, unknown>, path: string[]): boolean {
  let node: unknown = body;
  for (const segment of path) {
    if (!isJsonObject(node) || !Object.hasOwn(node, segment)) return false;
    node = node[segment];
  }
  return true;
}

/** LiteLLM's words for a missing parameter (`param=metadata.generation_name` for a nested one). */
function missing(path: string[]): GatewayError {
  const name = path.join('.');
  return new GatewayError('invalid_request', `BadRequest please pass param=${path.length === 1 ? name : path.map((segment) => `[${segment}]`).join('')} in request body. This is a required param (general_settings.enforced_params)`, { param: name });
}

/** A preHandler for every route: only model routes called with a virtual key are checked. */
export function requiredParamsHook(required: RequiredParams): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (request) => {
    // Model routes, and those without an endpoint that call models: the Testing Lab's `request` is
    // read; an agent run's input is no model request (only the end-user header names one there).
    const model = modelCallBody(request);
    if (!model) return;
    const call = request.call;
    if (!call?.caller.principal) return;
    const body = model.body;
    const json = isJsonObject(body) ? body : undefined;
    if (required.enforceUser && call.endUser === undefined && !(json && namesEndUser(json, call.endpoint))) {
      const how = json ? 'send "user" in the body (or Anthropic\'s metadata.user_id, or the x-litellm-end-user-id header)' : 'this route\'s body is not read for it: name the end user with the x-litellm-end-user-id header';
      throw new GatewayError('invalid_request', `'user' param not passed in. 'enforce_user_param'=True: every call of a virtual key must name its end user; ${how}`, { param: 'user' });
    }
    for (const path of required.params) {
      if (!json) throw new GatewayError('invalid_request', `param=${path.join('.')} is required (general_settings.enforced_params), and this route's body is not a JSON model request the gateway reads (a multipart upload, a pass-through body, an agent run's input), so it cannot be checked: call it with the master key`, { param: path.join('.') });
      if (!has(json, path)) throw missing(path);
    }
  };
}
