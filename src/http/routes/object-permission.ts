/**
 * LiteLLM's `object_permission` on /key/generate, /key/update, /team/new and /team/update
 * (LiteLLM_ObjectPermissionBase): of its lists only `vector_stores` is built here (the vector stores
 * a key or team may search; auth/vector-store-access.ts). MCP servers, MCP access groups, MCP tool
 * permissions and agents are accepted only with their empty defaults, refused in words otherwise —
 * never stored and silently ignored — as is any field LiteLLM does not define.
 */
import { z } from 'zod';
import { VECTOR_STORE_ID } from '../../auth/vector-store-access.js';
import { GatewayError } from '../../errors.js';
import { parseInput } from '../../parse-input.js';
import { STORED_FIELD_BOUNDS } from './stored-field-bounds.js';

const vectorStoreList = z
  .array(z.string().regex(VECTOR_STORE_ID, 'must be a vector store id: a letter or digit, then up to 127 letters, digits, "_", ".", ":" or "-" (OpenAI\'s look like "vs_abc123")'))
  .max(STORED_FIELD_BOUNDS.listEntries, `must have at most ${STORED_FIELD_BOUNDS.listEntries} entries`);

/** LiteLLM's other object permissions, with what this gateway says of them. */
const UNSUPPORTED: Record<string, string> = {
  mcp_servers: 'MCP servers are not served by this gateway',
  mcp_access_groups: 'MCP access groups are not served by this gateway',
  mcp_tool_permissions: 'MCP tool permissions are not served by this gateway',
  agents: 'agent permissions are not supported (agents are models here: list "agent/<name>" in "models")',
  agent_access_groups: 'agent access groups are not supported (agents are models here: list "agent/<name>" in "models")',
  object_permission_id: 'names a row of LiteLLM\'s object permission table, which this gateway does not have: send the lists themselves',
};

function isEmptyDefault(value: unknown): boolean {
  return value === undefined || value === null || (Array.isArray(value) && value.length === 0) || (typeof value === 'object' && value !== null && Object.keys(value).length === 0);
}

/**
 * The vector stores `object_permission` grants: undefined when the body leaves them as they are (no
 * object_permission, null, or no `vector_stores` in it), else the new list (empty: none).
 */
export function vectorStoresOf(body: unknown): string[] | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const permission = (body as Record<string, unknown>).object_permission;
  if (permission === undefined || permission === null) return undefined;
  if (typeof permission !== 'object' || Array.isArray(permission)) {
    throw new GatewayError('invalid_request', 'object_permission must be an object, like {"vector_stores": ["vs_abc123"]}', { param: 'object_permission' });
  }
  for (const [field, value] of Object.entries(permission)) {
    if (field === 'vector_stores') continue;
    const reason = UNSUPPORTED[field];
    if (reason === undefined) throw new GatewayError('invalid_request', `object_permission.${field.slice(0, 64)} is not a field of LiteLLM's object permissions this gateway knows: only "vector_stores" is supported`, { param: `object_permission.${field.slice(0, 64)}` });
    if (!isEmptyDefault(value)) throw new GatewayError('invalid_request', `object_permission.${field}: ${reason}`, { param: `object_permission.${field}` });
  }
  const list = (permission as Record<string, unknown>).vector_stores;
  if (list === undefined || list === null) return undefined;
  const parsed = parseInput(z.object({ object_permission: z.object({ vector_stores: vectorStoreList }) }), { object_permission: { vector_stores: list } });
  return [...new Set(parsed.object_permission.vector_stores)];
}
