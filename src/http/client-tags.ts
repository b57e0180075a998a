/**
 * general_settings.reject_clientside_metadata_tags: true — a virtual key's model call that sends
 * tags (`metadata.tags`, `tags`, or the x-litellm-tags header) is refused with 400 before anything
 * is routed, counted or sent (gateway/request-options.ts assertNoClientTags). As LiteLLM, the master
 * key is not checked (its common_checks run for other keys only); routes that call no model are not
 * checked. Registered only with the setting on.
 */
import type { FastifyRequest } from 'fastify';
import { assertNoClientTags } from '../gateway/request-options.js';
import { modelCallBody } from './context.js';

export async function clientTagsHook(request: FastifyRequest): Promise<void> {
  // The model request's body: the Testing Lab's `request`, none on an agent run (its headers still count).
  const model = modelCallBody(request);
  if (!model) return;
  if (!request.call?.caller.principal) return;
  assertNoClientTags(request.headers, model.body);
}
