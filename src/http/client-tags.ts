/**
 * general_settings.reject_clientside_metadata_tags: true — a virtual key's model call that sends
 * tags (`metadata.tags`, `tags`, or the x-litellm-tags header) is refused with 400 before anything
 * is routed, counted or sent (gateway/request-options.ts assertNoClientTags). As LiteLLM, the master
 * key is not checked (its common_checks run for other keys only); routes that call no model are not
 * checked. Registered only with the setting on.
 */
import type { FastifyRequest } from 'fastify';
import { assertNoClientTags } from '../gateway/request-options.js';

export async function clientTagsHook(request: FastifyRequest): Promise<void> {
  if (request.routeOptions.config.endpoint === undefined) return;
  if (!request.call?.caller.principal) return;
  assertNoClientTags(request.headers, request.body);
}
