/**
 * The end user a call is made for (LiteLLM's customer): the header named by
 * `general_settings.user_header_name`, else `x-litellm-end-user-id`, else the body's `user` (a
 * string). It identifies whose budget, limits and block flag apply (auth/customer-directory.ts) and
 * is recorded on the usage row. Ids are the client's to choose: they are bounded in length, and an
 * id longer than that is refused rather than cut (a cut id could land on another customer's budget).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { GatewayError } from '../errors.js';

export const MAX_END_USER_LENGTH = 256;

function checked(value: string, source: string): string {
  if (value.length > MAX_END_USER_LENGTH) throw new GatewayError('invalid_request', `the end user id (${source}) must be at most ${MAX_END_USER_LENGTH} characters, got ${value.length}`, { param: source === 'body "user"' ? 'user' : undefined });
  return value;
}

/** From the headers: undefined when none names an end user. */
export function endUserFromHeaders(headers: IncomingHttpHeaders, configuredHeader?: string): string | undefined {
  for (const name of [configuredHeader?.toLowerCase(), 'x-litellm-end-user-id']) {
    if (!name) continue;
    const value = headers[name];
    if (typeof value === 'string' && value.trim() !== '') return checked(value.trim(), `header ${name}`);
  }
  return undefined;
}

/** From the request body's `user`, when it is a non-empty string. */
export function endUserFromBody(body: unknown): string | undefined {
  const user = typeof body === 'object' && body !== null ? (body as { user?: unknown }).user : undefined;
  return typeof user === 'string' && user !== '' ? checked(user, 'body "user"') : undefined;
}

/**
 * From a provider-native call's body (`request.native`): its `user`, or on Anthropic's own API
 * `metadata.user_id` (what `/v1/messages` reads), so the same body names the same end user on every route.
 */
export function endUserFromNativeBody(api: string, body: Record<string, unknown>): string | undefined {
  const user = endUserFromBody(body);
  if (user !== undefined || api !== 'anthropic') return user;
  const metadata = body.metadata;
  const userId = typeof metadata === 'object' && metadata !== null ? (metadata as { user_id?: unknown }).user_id : undefined;
  return typeof userId === 'string' && userId !== '' ? checked(userId, 'body "metadata.user_id"') : undefined;
}
