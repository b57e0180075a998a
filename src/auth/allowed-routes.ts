/**
 * A key's `allowed_routes` (LiteLLM's field, and what its `key_type` expands to): the routes the key
 * may call. It only ever narrows what the key's role allows — a route outside the list is refused
 * with 403 before the route runs; a route inside it still needs the role's permission. Entries are
 * exact paths ("/chat/completions"), path prefixes ending in "/*" ("/key/*"), or LiteLLM's groups:
 * `llm_api_routes` (model calls and model lists), `info_routes` (the read-only management routes)
 * and `management_routes` (key, user, team, model, customer and budget management).
 */
import { GatewayError } from '../errors.js';
import type { Caller } from './caller.js';

export const ROUTE_GROUPS = ['llm_api_routes', 'info_routes', 'management_routes'] as const;
export type RouteGroup = (typeof ROUTE_GROUPS)[number];

/** LiteLLM's key types and the allowed_routes each stands for ("default": no restriction). */
export const KEY_TYPE_ROUTES: Record<string, string[]> = {
  default: [],
  llm_api: ['llm_api_routes'],
  management: ['management_routes'],
  read_only: ['info_routes'],
};

const MODEL_LISTS = new Set(['/models', '/v1/models', '/api/v1/llm/models']);
const MANAGEMENT_PREFIXES = ['/key/', '/user/', '/team/', '/model/', '/model_group/', '/v1/model/', '/v2/model/', '/customer/', '/end_user/', '/budget/', '/spend/', '/global/spend/'];
const INFO_PATHS = new Set([
  '/key/info',
  '/key/list',
  '/user/info',
  '/user/list',
  '/user/daily/activity',
  '/team/info',
  '/team/list',
  '/model/info',
  '/v1/model/info',
  '/v2/model/info',
  '/model_group/info',
  '/customer/info',
  '/customer/list',
  '/end_user/info',
  '/end_user/list',
  '/budget/info',
  '/budget/list',
  '/health',
  '/health/latest',
]);

export interface RouteRequest {
  method: string;
  /** The path as the router matched it: without the query string or fragment, percent-decoded (routePath). */
  path: string;
  /** Whether the route calls a model (it records a usage row). */
  callsModel: boolean;
  /** The path is also served with OpenAI's `/v1` prefix, as the same route (`/embeddings` and `/v1/embeddings`). */
  v1Twin?: boolean;
  /** The route's pattern as registered (`/key/:key/regenerate`), for entries naming a path parameter (`/key/{key}/regenerate`). */
  pattern?: string;
}

/** The platform layer serves OpenAI's routes again under its prefix: `/api/v1/llm/chat/completions` is `/chat/completions`. */
const PLATFORM_PREFIX = '/api/v1/llm/';

/**
 * Routes served at two paths by one handler (or the same data by two), each named by the other's
 * path too: an entry for either (in admin_only_routes, allowed_routes, a key's allowed_routes) is
 * the route, so the other spelling neither escapes nor misses it. Keys are route patterns.
 */
const TWINS: Record<string, readonly string[]> = {
  '/key/:key/regenerate': ['/key/regenerate'],
  '/key/regenerate': ['/key/{}/regenerate'],
  '/switchboard/spend/logs': ['/spend/logs'],
  '/spend/logs': ['/switchboard/spend/logs'],
};

/** A pattern with its parameters unnamed: `/key/:key/regenerate` and `/key/{key_id}/regenerate` are both `/key/{}/regenerate`. */
function unnamed(pattern: string): string {
  return pattern.replace(/\/:[^/]+/g, '/{}').replace(/\/\{[^/}]*\}/g, '/{}');
}

/** Every path a route is named by: as requested, without `/v1`, its `/v1` twin, its pattern, its platform-prefix and other twins. */
function namesOf(route: RouteRequest): string[] {
  const paths = [route.path, route.path.replace(/^\/v1(?=\/)/, '')];
  if (route.v1Twin) paths.push(`/v1${route.path}`);
  if (route.path.startsWith(PLATFORM_PREFIX)) {
    const rest = route.path.slice(PLATFORM_PREFIX.length - 1);
    paths.push(rest, `/v1${rest}`);
  }
  if (route.pattern !== undefined) {
    paths.push(unnamed(route.pattern));
    for (const twin of TWINS[route.pattern] ?? []) paths.push(twin, twin.replace(/^\/v1(?=\/)/, ''));
  }
  return paths;
}

/**
 * The path a request URL names as Fastify's router (find-my-way) reads it: cut at `?` or `#`, and
 * percent-decoded as decodeURI does (`/key/%64elete` is /key/delete; an encoded `/` stays encoded),
 * so another spelling of a listed route is that route. A malformed escape is left as sent (the router refuses it).
 */
export function routePath(url: string): string {
  const end = url.search(/[?#]/);
  const path = end === -1 ? url : url.slice(0, end);
  if (!path.includes('%')) return path;
  try {
    return decodeURI(path);
  } catch {
    return path;
  }
}

function inGroup(group: RouteGroup, route: RouteRequest): boolean {
  switch (group) {
    case 'llm_api_routes':
      // Model calls, model lists and lookups (/v1/models/{id}), and Anthropic's token count.
      return route.callsModel || MODEL_LISTS.has(route.path) || /^(\/v1)?\/models\/.+$/.test(route.path) || /^(\/v1)?\/messages\/count_tokens$/.test(route.path);
    case 'info_routes':
      return route.method === 'GET' && (INFO_PATHS.has(route.path) || route.path.startsWith('/spend/') || route.path.startsWith('/global/spend/'));
    case 'management_routes':
      return MANAGEMENT_PREFIXES.some((prefix) => route.path.startsWith(prefix));
  }
}

function matches(entry: string, route: RouteRequest): boolean {
  if ((ROUTE_GROUPS as readonly string[]).includes(entry)) return inGroup(entry as RouteGroup, route);
  // "/chat/completions" also allows "/v1/chat/completions" (the same route with OpenAI's prefix).
  // And "/v1/embeddings" also "/embeddings", when the router serves both as one route (v1Twin); and
  // every other name of the route (namesOf). An entry with a path parameter names the pattern.
  const paths = namesOf(route);
  if (entry.endsWith('/*')) return paths.some((path) => path.startsWith(entry.slice(0, -1)));
  return paths.includes(entry.includes('{') || entry.includes('/:') ? unnamed(entry) : entry);
}

/** Why an allowed_routes entry is not one the gateway understands, or undefined when it is. */
export function invalidRouteEntry(entry: string): string | undefined {
  if ((ROUTE_GROUPS as readonly string[]).includes(entry)) return undefined;
  if (!entry.startsWith('/')) return `"${entry}" is neither a path (starting with "/") nor one of ${ROUTE_GROUPS.join(', ')}`;
  if (entry.includes('*') && !(entry.endsWith('/*') && entry.indexOf('*') === entry.length - 1)) return `"${entry}": a wildcard is only allowed as a final "/*"`;
  return undefined;
}

/** Throws 403 when the caller's key restricts its routes and this one is not among them. */
export function assertRouteAllowed(caller: Caller, describeRoute: () => RouteRequest): void {
  const allowed = caller.principal?.key.allowedRoutes;
  if (!allowed || allowed.length === 0) return;
  const route = describeRoute();
  if (allowed.some((entry) => matches(entry, route))) return;
  const key = caller.principal!.key;
  const label = key.alias ? `key "${key.alias}"` : `key ${key.prefix}`;
  throw new GatewayError('permission_denied', `${label} may not call ${route.method} ${route.path}: its allowed_routes are ${allowed.join(', ')}`);
}

/**
 * LiteLLM's proxy-wide general_settings.allowed_routes and admin_only_routes (same entries as a
 * key's): every caller but the master key may call only the routes `allowed` lists, and only
 * admins (proxy_admin users' keys) the routes `adminOnly` lists. Routes that need no key (health
 * probes, the UI's files) are not checked, as LiteLLM checks them inside its key check.
 */
export interface ProxyRoutes {
  allowed?: readonly string[];
  adminOnly?: readonly string[];
}

/** The settings as the guard takes them; an empty list restricts nothing (as a key's allowed_routes); undefined when neither restricts. */
export function proxyRoutesOf(settings: { allowed_routes?: string[] | null; admin_only_routes?: string[] | null }): ProxyRoutes | undefined {
  const allowed = settings.allowed_routes?.length ? settings.allowed_routes : undefined;
  const adminOnly = settings.admin_only_routes?.length ? settings.admin_only_routes : undefined;
  return allowed || adminOnly ? { allowed, adminOnly } : undefined;
}

export function assertProxyRoutes(routes: ProxyRoutes, caller: Caller, describeRoute: () => RouteRequest): void {
  // The master key (and, with no master key configured, every caller: the gateway is open) is the operator's own.
  if (!caller.principal) return;
  const route = describeRoute();
  if (routes.allowed && !routes.allowed.some((entry) => matches(entry, route))) {
    throw new GatewayError('permission_denied', `Access forbidden: Route ${route.path} not allowed (general_settings.allowed_routes: ${routes.allowed.join(', ')})`);
  }
  if (!caller.isAdmin && routes.adminOnly?.some((entry) => matches(entry, route))) {
    throw new GatewayError('permission_denied', `user not allowed to access this route. Route=${route.path} is an admin only route (general_settings.admin_only_routes)`);
  }
}
