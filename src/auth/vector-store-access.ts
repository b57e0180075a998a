/**
 * Which vector stores a key may search. A vector store lives on the provider account every key of
 * this gateway shares, and only an admin key creates one (the relay's `vector_stores` endpoints
 * need llm.manage_providers), so each is the operator's; a Responses `file_search` tool names the
 * stores the model reads (`tools[].vector_store_ids`). The operator grants stores with LiteLLM's
 * `object_permission: {"vector_stores": [...]}` on keys and teams. For a key without
 * llm.manage_providers, a store is searched only when
 * - the key's list, when it has one, holds it, and the team's list, when the team has one, holds it
 *   (LiteLLM's rule: a list narrows what its holder reaches), and
 * - a store granted to any key or team is reserved to them: a key whose key and team grant nothing
 *   does not reach it (LiteLLM lets such a key search every store; here only the stores granted to
 *   nobody stay open to it, so granting a store to one team takes it away from everybody else).
 * Anything else is refused with 403 naming the id, before any upstream call.
 */
import type { ResolvedKey } from './key-directory.js';
import { GatewayError } from '../errors.js';
import { isJsonObject } from '../json-object.js';

/** The longest vector store id a grant may name, and the characters one may hold (OpenAI's are `vs_` and letters and digits). */
export const VECTOR_STORE_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

/** A vector store id a request names, with the field that names it. */
export interface NamedVectorStore {
  id: string;
  param: string;
}

/** The vector stores a Responses body's file_search tools name (`tools[i].vector_store_ids[j]`). */
export function vectorStoresOfResponses(body: Record<string, unknown>): NamedVectorStore[] {
  const named: NamedVectorStore[] = [];
  if (!Array.isArray(body.tools)) return named;
  body.tools.forEach((tool: unknown, index: number) => {
    if (!isJsonObject(tool) || tool.type !== 'file_search') return;
    const ids = tool.vector_store_ids;
    if (!Array.isArray(ids)) return;
    ids.forEach((id: unknown, position: number) => {
      const param = `tools[${index}].vector_store_ids[${position}]`;
      // OpenAI refuses a non-string id; the gateway does too, as it cannot check one.
      if (typeof id !== 'string') throw new GatewayError('invalid_request', `${param} must be a vector store id (a string)`, { param });
      named.push({ id, param });
    });
  });
  return named;
}

/** Looks up whether a store is granted to any key or team (storage/repositories/principals.ts). */
export type VectorStoreGrantLookup = (id: string) => Promise<boolean>;

function denied(store: NamedVectorStore, reason: string): GatewayError {
  return new GatewayError('permission_denied', `${store.param}: vector store ${JSON.stringify(store.id.slice(0, 128))} ${reason}: an admin grants vector stores with "object_permission": {"vector_stores": [...]} on the key (/key/update) or its team (/team/update)`, { param: store.param });
}

/**
 * Throws 403 for the first store the caller may not search. `principal` is the calling key with its
 * team (absent for the master key); `mayUseProviderResources`: llm.manage_providers, which reaches
 * every store of the account.
 */
export async function assertVectorStoresGranted(stores: NamedVectorStore[], principal: ResolvedKey | undefined, mayUseProviderResources: boolean, granted: VectorStoreGrantLookup | undefined): Promise<void> {
  if (stores.length === 0 || mayUseProviderResources) return;
  const keyList = principal?.key.vectorStores ?? [];
  const teamList = principal?.team?.vectorStores ?? [];
  const checked = new Set<string>();
  for (const store of stores) {
    if (checked.has(store.id)) continue;
    checked.add(store.id);
    if (keyList.length > 0 && !keyList.includes(store.id)) throw denied(store, 'is not among the vector stores granted to this key');
    if (teamList.length > 0 && !teamList.includes(store.id)) throw denied(store, `is not among the vector stores granted to team "${principal!.team!.teamId}"`);
    if (keyList.includes(store.id) || teamList.includes(store.id)) continue;
    // Neither the key nor its team grants any store: only the stores granted to nobody are open.
    if (!granted || (await granted(store.id))) throw denied(store, 'is granted to other keys or teams, not to this key or its team');
  }
}
