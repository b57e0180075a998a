/**
 * Server-side tools of the relayed provider APIs: tools the provider runs itself and bills per use
 * beside the tokens. Each one a key may send is one the gateway charges, and no client field makes
 * the provider bill more than the reservation covers:
 * - billed per use, counted from the answer and priced (billing/media-pricing.ts): Anthropic web
 *   search (`usage.server_tool_use.web_search_requests`), Gemini grounding with Google Search (an
 *   answer with `groundingMetadata` is one grounded prompt), Responses `web_search` and
 *   `file_search` (their `web_search_call` / `file_search_call` output items). The reservation
 *   holds the most uses the request allows: Anthropic's `max_uses` (set to
 *   DEFAULT_WEB_SEARCH_USES in the relayed copy when the client names none), one grounded prompt,
 *   Responses' `max_tool_calls` (likewise set to DEFAULT_BUILT_IN_TOOL_CALLS);
 * - billed in tokens only (the client's own tools, Anthropic's client-executed bash / text editor /
 *   computer / memory tools, Gemini code execution and URL context, Responses computer use, local
 *   shell, apply_patch and remote MCP): relayed, the server tools among them flagged so that the
 *   usage bounds accept the input their results add (billing/usage-bounds.ts);
 * - anything else (Anthropic code execution and its `container`, web fetch, `mcp_servers`, and the
 *   compaction edit of `context_management`, whose summarizing step the top-level usage omits; Gemini
 *   Maps grounding, file search, Vertex retrieval; Responses code_interpreter containers,
 *   image_generation, and any tool type not listed here): billed in units the answer does not
 *   report or the gateway does not price, so refused with a 400 naming the tool before any upstream
 *   call — unless the caller holds llm.manage_providers (an admin key, which pays the provider's
 *   account as it sees fit), for whom they are relayed and only their tokens are charged.
 */
import { GatewayError } from '../errors.js';
import { isJsonObject } from '../json-object.js';
import type { MediaUnits } from '../providers/types.js';

type Json = Record<string, unknown>;

/** Web searches an Anthropic web_search tool may run when the request names no `max_uses`. */
export const DEFAULT_WEB_SEARCH_USES = 10;
/** Built-in tool calls a Responses request may make when it names no `max_tool_calls`. */
export const DEFAULT_BUILT_IN_TOOL_CALLS = 10;

/** What a relayed body may use: the copy sent upstream (limits filled in), the units reserved, the server tools named. */
export interface ServerToolPlan {
  native: Json;
  units?: MediaUnits;
  /** The most units billed, where the provider bounds none (NativeRequest.unitsBound). */
  unitsBound?: MediaUnits;
  serverTools?: string[];
}

function unbilled(where: string, what: string, param: string): GatewayError {
  return new GatewayError(
    'invalid_request',
    `${where} is ${what} that the provider bills in units this gateway cannot count or price, so it would be used for free: only a key with the llm.manage_providers permission may send it`,
    { param },
  );
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

/** Anthropic-defined tools the client executes itself (billed in tokens only). */
const ANTHROPIC_CLIENT_TOOL = /^(bash|text_editor|computer|memory)_/;

/** Anthropic request fields whose non-default values Anthropic bills above the standard rates, with their default. */
const PRICED_ABOVE_STANDARD = [
  ['speed', 'standard'],
  ['inference_geo', 'global'],
] as const;

/** Anthropic Messages (`/anthropic/v1/messages`). */
export function anthropicServerTools(body: Json, unbilledAllowed: boolean): ServerToolPlan {
  const serverTools: string[] = [];
  let searches = 0;
  let tools = body.tools;
  if (Array.isArray(body.tools)) {
    tools = body.tools.map((tool: unknown, index: number) => {
      const type = isJsonObject(tool) ? tool.type : undefined;
      if (!isJsonObject(tool) || type === undefined || type === null || type === 'custom') return tool;
      const name = String(type).slice(0, 64);
      if (typeof type === 'string' && ANTHROPIC_CLIENT_TOOL.test(type)) return tool;
      serverTools.push(name);
      if (typeof type === 'string' && type.startsWith('web_search_')) {
        if (tool.max_uses === undefined || tool.max_uses === null) {
          searches += DEFAULT_WEB_SEARCH_USES;
          return { ...tool, max_uses: DEFAULT_WEB_SEARCH_USES };
        }
        const uses = positiveInteger(tool.max_uses);
        if (uses === undefined) throw new GatewayError('invalid_request', `tools[${index}].max_uses must be a whole number from 1 up: it bounds the searches the call is billed for`, { param: `tools[${index}].max_uses` });
        searches += uses;
        return tool;
      }
      if (!unbilledAllowed) throw unbilled(`tools[${index}] ${JSON.stringify(name)}`, 'a server tool (code execution, web fetch, …)', `tools[${index}].type`);
      return tool;
    });
  }
  for (const field of ['mcp_servers', 'container'] as const) {
    const value = body[field];
    if (value === undefined || value === null || (Array.isArray(value) && value.length === 0)) continue;
    serverTools.push(field);
    if (!unbilledAllowed) throw unbilled(`"${field}"`, field === 'container' ? 'a code execution container' : 'a set of MCP servers Anthropic connects to', field);
  }
  // Threshold compaction (`compact_20260112`, beta compact-2026-01-12) runs an extra sampling step
  // billed at the model's rates that the top-level usage leaves out (only `usage.iterations` has it),
  // so it would be used for free; context edits that only clear content bill fewer tokens and pass.
  const edits = isJsonObject(body.context_management) ? body.context_management.edits : undefined;
  if (!unbilledAllowed && Array.isArray(edits)) {
    edits.forEach((edit: unknown, index: number) => {
      const type = isJsonObject(edit) ? edit.type : undefined;
      if (typeof type === 'string' && type.startsWith('compact_')) throw unbilled(`context_management.edits[${index}] ${JSON.stringify(type.slice(0, 64))}`, 'a compaction (a summarizing step billed outside the usage the answer totals)', `context_management.edits[${index}].type`);
    });
  }
  // Fast mode (`speed: "fast"`, 6× the standard rates on Opus 4.6, other multiples later) and
  // US-only inference (`inference_geo: "us"`, 1.1× every token) raise the price of every token
  // the call bills; the gateway charges and reserves the standard rates, so only their defaults pass.
  if (!unbilledAllowed) {
    for (const [field, standard] of PRICED_ABOVE_STANDARD) {
      const value = body[field];
      if (value !== undefined && value !== null && value !== standard) {
        throw new GatewayError(
          'invalid_request',
          `"${field}": ${JSON.stringify(value).slice(0, 64)} is billed by Anthropic above the standard rates this gateway charges, so it would be used for less than its price: send ${JSON.stringify(standard)} or leave it out; only a key with the llm.manage_providers permission may send another value`,
          { param: field },
        );
      }
    }
  }
  return plan(tools === body.tools ? body : { ...body, tools }, searches > 0 ? { webSearches: searches } : undefined, serverTools);
}

/** Gemini Tool fields, in both JSON spellings: billed per grounded prompt, or in tokens only. */
const GEMINI_GROUNDING = new Set(['googleSearch', 'google_search', 'googleSearchRetrieval', 'google_search_retrieval']);
const GEMINI_TOKEN_BILLED = new Set(['codeExecution', 'code_execution', 'urlContext', 'url_context']);
const GEMINI_CLIENT = new Set(['functionDeclarations', 'function_declarations']);

/** The GenerateContentRequest's service tier, in both JSON spellings, and its values billed at or below the standard rates. */
const GEMINI_SERVICE_TIER = ['serviceTier', 'service_tier'] as const;
const GEMINI_STANDARD_OR_BELOW = /^(service_tier_)?(standard|flex|unspecified)$/i;

/**
 * Search queries a grounded Gemini call reserves: Gemini 3 bills each query the model runs (a
 * prompt may run several; webSearches, priced 0 on Gemini 2.x), and the charge is held to this.
 */
export const GEMINI_SEARCH_QUERIES = 10;

/**
 * Search queries a grounded Gemini 3 answer is billed for at most. Google documents no maximum and
 * the request can set none, so an answer may report more than were reserved: up to this many are
 * charged as reported (the budget may be passed by the difference, as a token count within the
 * usage bounds' margin may), more is taken for an upstream's error and held to it.
 */
export const GEMINI_SEARCH_QUERIES_BILLED = 4 * GEMINI_SEARCH_QUERIES;

/** Gemini generateContent and its stream (`/gemini/...`). */
export function geminiServerTools(body: Json, unbilledAllowed: boolean): ServerToolPlan {
  const serverTools: string[] = [];
  let grounded = false;
  if (Array.isArray(body.tools)) {
    body.tools.forEach((tool: unknown, index: number) => {
      if (!isJsonObject(tool)) return;
      for (const field of Object.keys(tool)) {
        if (GEMINI_CLIENT.has(field)) continue;
        serverTools.push(field.slice(0, 64));
        if (GEMINI_GROUNDING.has(field)) grounded = true;
        else if (!GEMINI_TOKEN_BILLED.has(field) && !unbilledAllowed) throw unbilled(`tools[${index}].${field.slice(0, 64)}`, 'a server tool', `tools[${index}].${field.slice(0, 64)}`);
      }
    });
  }
  // Priority inference (`serviceTier: "priority"`) is billed 75–100% above the standard rates the
  // gateway charges and reserves; only the tiers billed at or below them pass (the proto name and
  // enum spellings too, as Google reads them: an enum may also arrive as its number, refused here).
  if (!unbilledAllowed) {
    for (const field of GEMINI_SERVICE_TIER) {
      const value = body[field];
      if (value !== undefined && value !== null && !(typeof value === 'string' && GEMINI_STANDARD_OR_BELOW.test(value))) {
        throw new GatewayError(
          'invalid_request',
          `"${field}": ${JSON.stringify(value).slice(0, 64)} is billed by Google above the standard rates this gateway charges, so it would be used for less than its price: send "standard" or "flex", or leave it out; only a key with the llm.manage_providers permission may send another value`,
          { param: field },
        );
      }
    }
  }
  // Gemini 2.x bills a grounded prompt once per request, whatever the number of candidates; Gemini 3 each distinct query (up to GEMINI_SEARCH_QUERIES reserved).
  if (!grounded) return plan(body, undefined, serverTools);
  return { ...plan(body, { groundedPrompts: 1, webSearches: GEMINI_SEARCH_QUERIES }, serverTools), unitsBound: { groundedPrompts: 1, webSearches: GEMINI_SEARCH_QUERIES_BILLED } };
}

/** Responses tool types billed in tokens only (the client's own, or run without a per-use fee). */
const RESPONSES_TOKEN_BILLED = new Set(['function', 'custom', 'computer_use_preview', 'computer_use', 'local_shell', 'apply_patch', 'mcp']);

/** Responses with built-in tools (`/v1/responses`, `/openai/v1/responses`). */
export function responsesServerTools(body: Json, unbilledAllowed: boolean): ServerToolPlan {
  const serverTools: string[] = [];
  let webSearch = false;
  let fileSearch = false;
  if (Array.isArray(body.tools)) {
    body.tools.forEach((tool: unknown, index: number) => {
      const type = isJsonObject(tool) ? tool.type : undefined;
      if (typeof type !== 'string' || type === 'function' || type === 'custom') return;
      serverTools.push(type.slice(0, 64));
      if (type.startsWith('web_search')) webSearch = true;
      else if (type === 'file_search') fileSearch = true;
      else if (!RESPONSES_TOKEN_BILLED.has(type) && !unbilledAllowed) {
        throw unbilled(`tools[${index}] ${JSON.stringify(type.slice(0, 64))}`, 'a built-in tool (code_interpreter containers, image_generation, …)', `tools[${index}].type`);
      }
    });
  }
  if (!webSearch && !fileSearch) return plan(body, undefined, serverTools);
  // Every web_search_call and file_search_call counts against max_tool_calls, the bound reserved.
  let calls = positiveInteger(body.max_tool_calls);
  let native = body;
  if (calls === undefined) {
    if (body.max_tool_calls !== undefined && body.max_tool_calls !== null) throw new GatewayError('invalid_request', '"max_tool_calls" must be a whole number from 1 up: it bounds the built-in tool calls the response is billed for', { param: 'max_tool_calls' });
    calls = DEFAULT_BUILT_IN_TOOL_CALLS;
    native = { ...body, max_tool_calls: calls };
  }
  return plan(native, { ...(webSearch ? { webSearches: calls } : {}), ...(fileSearch ? { fileSearches: calls } : {}) }, serverTools);
}

function plan(native: Json, units: MediaUnits | undefined, serverTools: string[]): ServerToolPlan {
  return { native, ...(units ? { units } : {}), ...(serverTools.length > 0 ? { serverTools } : {}) };
}
