/**
 * LiteLLM's `general_settings.pass_through_endpoints`: each configured `path` (and, with
 * `include_subpath`, every path under it) is relayed to its `target` — method, subpath, query and
 * body as the client sent them, the configured `headers` added (the client's own only with
 * `forward_headers`, and never the gateway key it presented) — and the target's answer comes back
 * as it is sent: status, headers, and the body streamed through (SSE included) — up to
 * general_settings.max_response_size_mb, as every answer (gateway/response-size.ts): a JSON answer
 * over it is read whole and refused with 502, any other ends short where it would pass it.
 *
 * A gateway key with `llm.execute` is required unless the entry says `auth: false` (LiteLLM's
 * default is no auth; the gateway warns at start for each open entry). Every call leaves a usage
 * row (`endpoint: "pass_through"`, key, user, team, status, latency); tokens are read from a JSON
 * answer carrying OpenAI's or Anthropic's `usage`; the cost stays unknown (no price is configured
 * for a target), so pass-through calls are not held to budgets; rate limits count them (gateway/stages/admit.ts).
 * The body is never read for a model, so a caller held to a model allow-list is refused (modelRestrictionRefusal),
 * as is one a routing rule or its tier may hold to fewer models (ruleOrTierRefusal).
 */
import { performance } from 'node:perf_hooks';
import { pipeline, Transform } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { request as undiciRequest } from 'undici';
import type { Caller } from '../../auth/caller.js';
import type { ResolvedKey } from '../../auth/key-directory.js';
import type { Ticket } from '../../auth/admission.js';
import { ALL_MODELS } from '../../auth/model-access.js';
import { can, requirePermission } from '../../auth/permissions.js';
import type { PassThroughEndpoint } from '../../config/schema.js';
import { GatewayError, upstreamErrorCode } from '../../errors.js';
import type { CallContext } from '../../gateway/call-context.js';
import { ClientConnection } from '../../gateway/client-connection.js';
import type { Gateway } from '../../gateway/pipeline.js';
import type { PlatformLayer } from '../../platform/layer.js';
import { tierLimit } from '../../platform/model-limits.js';
import { mayCapTokens, mayLimitModels, type RuleCaller } from '../../platform/routing-rules.js';
import { responseTooLarge } from '../../gateway/response-size.js';
import { usageFromResponses } from '../../providers/shared/openai-responses-native.js';
import { usageFromOpenAI } from '../../providers/shared/usage.js';
import type { Usage } from '../../providers/types.js';

const DEFAULT_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
/** LiteLLM's default pass-through timeout. */
const DEFAULT_TIMEOUT_SECONDS = 600;
/** The largest JSON answer read for its usage; larger ones are streamed through unread. */
const MAX_USAGE_BODY_BYTES = 8 * 1024 * 1024;
/** Never sent on: they describe one connection, or carry the gateway key the client presented. */
const NOT_FORWARDED = new Set(['host', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'content-length', 'authorization', 'x-api-key', 'api-key', 'x-goog-api-key', 'x-litellm-api-key', 'cookie', 'accept-encoding', 'expect']);
/**
 * Never returned: they describe one connection, set state on the gateway's origin (a cookie), or
 * would let a target's script claim more of that origin (a service worker scoped above its path).
 */
const NOT_RETURNED = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'set-cookie', 'trailer', 'upgrade', 'service-worker-allowed']);
/**
 * Set on every relayed answer, replacing the target's own: the answer is served from the gateway's
 * origin, which is the admin UI's (its signed-in key lives there), so a page from a target — HTML,
 * or bytes a browser would sniff as HTML — must not run as that origin. `sandbox` makes it an opaque
 * origin without script; API answers (JSON, SSE, files) are unaffected.
 */
const ANSWER_HEADERS = { 'content-security-policy': 'sandbox', 'x-content-type-options': 'nosniff' } as const;
const ENV_REFERENCE = /os\.environ\/([A-Za-z_][A-Za-z0-9_]*)\s*$/;

/**
 * A header value with a trailing `os.environ/VAR` (LiteLLM's `Bearer os.environ/KEY`) resolved;
 * a whole-value reference was resolved when the config was read.
 */
export function resolveHeader(value: string, env: Record<string, string | undefined>, where: string): string {
  const match = ENV_REFERENCE.exec(value);
  if (!match) return value;
  const found = env[match[1]];
  if (found === undefined || found === '') throw new Error(`${where}: the environment variable ${match[1]} is not set`);
  return value.slice(0, match.index) + found;
}

function usageOf(text: string): Usage | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  const usage = typeof body === 'object' && body !== null ? (body as { usage?: unknown }).usage : undefined;
  if (typeof usage !== 'object' || usage === null) return undefined;
  // OpenAI chat/completions (prompt_tokens), or OpenAI Responses and Anthropic (input_tokens).
  if ('prompt_tokens' in usage) return usageFromOpenAI(usage);
  const tokens = usageFromResponses(usage);
  const cacheRead = (usage as { cache_read_input_tokens?: unknown }).cache_read_input_tokens;
  if (tokens && typeof cacheRead === 'number' && cacheRead > 0) tokens.cachedTokens = cacheRead;
  return tokens;
}

function anonymousContext(request: FastifyRequest): CallContext {
  return {
    callId: request.id,
    startedAt: performance.now(),
    startedAtEpochMs: Date.now(),
    endpoint: 'pass_through',
    caller: { keyHash: null, keyAlias: null, userId: null, teamId: null, isAdmin: false },
    client: new ClientConnection(),
    recorded: false,
    requesterIp: request.ip,
  };
}

interface Relay {
  entry: PassThroughEndpoint;
  headers: Record<string, string>;
  /** general_settings.litellm_key_header_name, lower-cased: it carries the gateway key, never sent on. */
  keyHeader?: string;
}

/**
 * The URL a request is relayed to: `target` with the request's subpath and query appended. The
 * subpath must stay under `target` — the configured headers (the operator's credentials) go with
 * it — so one with a `.` or `..` segment in any spelling (`%2e`, `%2E`, `%252e`, mixed), a
 * backslash, or an encoded slash (`%2f`, `%5c`, which a target may decode into a separator) is
 * refused with 400; and the URL as parsed must still be on the target's origin, under its path.
 */
export function targetUrl(entry: PassThroughEndpoint, requestUrl: string): string {
  const [pathname, query] = splitUrl(requestUrl);
  const sub = entry.include_subpath ? pathname.slice(entry.path.replace(/\/+$/, '').length) : '';
  const refusal = subpathRefusal(sub);
  if (refusal) throw new GatewayError('invalid_request', `pass-through path "${entry.path}": ${refusal}; the subpath must stay under the configured target`);
  const base = entry.target.replace(/\/+$/, '');
  const joined = `${base}${sub && !sub.startsWith('/') ? `/${sub}` : sub}${query ? `?${query}` : ''}`;
  const url = new URL(joined);
  const target = new URL(base);
  const basePath = target.pathname.replace(/\/+$/, '');
  if (url.origin !== target.origin || !(basePath === '' || url.pathname === basePath || url.pathname.startsWith(`${basePath}/`))) {
    throw new GatewayError('invalid_request', `pass-through path "${entry.path}": the request's path leaves the configured target; send a subpath under it`);
  }
  return url.href;
}

/** Why a subpath could leave its target (dot segments, backslashes, encoded separators), or undefined. */
function subpathRefusal(sub: string): string | undefined {
  if (sub.includes('\\')) return 'a backslash is not allowed in the subpath';
  // Percent-encoding undone as often as it was applied (%252e → %2e → .), as a target might.
  let decoded = sub;
  for (let previous = ''; previous !== decoded; ) {
    previous = decoded;
    decoded = decoded.replace(/%25/gi, '%').replace(/%2e/gi, '.');
  }
  if (/%2f|%5c/i.test(decoded)) return 'an encoded slash (%2F, %5C) is not allowed in the subpath';
  if (decoded.split('/').some((segment) => segment === '.' || segment === '..')) return 'a "." or ".." segment (in any encoding) is not allowed in the subpath';
  return undefined;
}

function splitUrl(url: string): [string, string] {
  const at = url.indexOf('?');
  return at < 0 ? [url, ''] : [url.slice(0, at), url.slice(at + 1)];
}

function requestHeaders(relay: Relay, request: FastifyRequest): Record<string, string> {
  const headers: Record<string, string> = {};
  if (relay.entry.forward_headers) {
    for (const [name, value] of Object.entries(request.headers)) {
      if (NOT_FORWARDED.has(name) || name === relay.keyHeader || value === undefined) continue;
      headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
  } else {
    for (const name of ['content-type', 'accept']) {
      const value = request.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
  }
  // The gateway reads JSON answers for their usage: ask for them unencoded.
  headers['accept-encoding'] = 'identity';
  for (const [name, value] of Object.entries(relay.headers)) headers[name.toLowerCase()] = value;
  return headers;
}

async function relay(gateway: Gateway, route: Relay, request: FastifyRequest, reply: FastifyReply, context: CallContext, ticket?: Ticket): Promise<FastifyReply> {
  const started = performance.now();
  const abort = new AbortController();
  const stopListening = context.client.onGone(() => abort.abort());
  const timeoutMs = (route.entry.timeout ?? DEFAULT_TIMEOUT_SECONDS) * 1000;
  const timer = timeoutMs > 0 ? setTimeout(() => abort.abort(new GatewayError('upstream_timeout', `the pass-through target did not answer within ${timeoutMs / 1000} s`)), timeoutMs) : undefined;
  let finished = false;
  const finish = (settlement: { usage: Usage | undefined; stream: boolean } | undefined, error: GatewayError | undefined) => {
    if (finished) return;
    finished = true;
    if (timer) clearTimeout(timer);
    stopListening();
    // The admission's slot and tokens: the answer's tokens count toward tpm_limit (no cost).
    const usage = settlement?.usage;
    ticket?.settle(undefined, usage?.totalTokens ?? (usage?.promptTokens ?? 0) + (usage?.completionTokens ?? 0));
    const upstreamLatencyMs = performance.now() - started;
    gateway.recordPassThrough(context, {
      settlement: settlement ? { usage: settlement.usage, costMicros: undefined, upstreamLatencyMs, timeToFirstTokenMs: null } : undefined,
      error,
      aborted: context.client.gone,
      stream: settlement?.stream ?? false,
    });
  };
  const body = request.body;
  let url: string;
  try {
    url = targetUrl(route.entry, request.url);
  } catch (caught) {
    finish(undefined, caught as GatewayError);
    throw caught;
  }
  let answer: Awaited<ReturnType<typeof undiciRequest>>;
  try {
    answer = await undiciRequest(url, {
      method: request.method as 'GET',
      headers: requestHeaders(route, request),
      body: Buffer.isBuffer(body) && request.method !== 'GET' && request.method !== 'HEAD' ? body : undefined,
      signal: abort.signal,
      headersTimeout: timeoutMs || undefined,
      bodyTimeout: timeoutMs || undefined,
    });
  } catch (caught) {
    const error = caught instanceof GatewayError ? caught : new GatewayError('upstream_connection', `the pass-through target cannot be reached (${(caught as { code?: string }).code ?? (caught as Error).name})`);
    finish(undefined, error);
    throw error;
  }
  const headers: Record<string, string | string[]> = { ...ticket?.headers };
  for (const [name, value] of Object.entries(answer.headers)) {
    if (value !== undefined && !NOT_RETURNED.has(name)) headers[name] = value;
  }
  Object.assign(headers, ANSWER_HEADERS);
  const status = answer.statusCode;
  const failure = status >= 400 ? new GatewayError(upstreamErrorCode(status), `the pass-through target answered ${status}`) : undefined;
  const contentType = String(answer.headers['content-type'] ?? '');
  const declared = Number(answer.headers['content-length']);
  const readable = /\bjson\b/i.test(contentType) && !(declared > MAX_USAGE_BODY_BYTES) && !answer.headers['content-encoding'];
  const maxBytes = gateway.maxResponseBytes;
  if (readable) {
    // A JSON answer is read whole (bounded) for its usage, then sent.
    let text: string;
    let size = 0;
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of answer.body) {
        size += (chunk as Buffer).length;
        if (size > MAX_USAGE_BODY_BYTES) throw new GatewayError('upstream_response_too_large', `the pass-through target's JSON answer is larger than ${MAX_USAGE_BODY_BYTES} bytes`);
        chunks.push(chunk as Buffer);
      }
      text = Buffer.concat(chunks).toString('utf8');
    } catch (caught) {
      const error = caught instanceof GatewayError ? caught : new GatewayError('upstream_connection', 'the pass-through target broke off its answer');
      finish(undefined, error);
      throw error;
    }
    const usage = failure ? undefined : usageOf(text);
    // general_settings.max_response_size_mb, as on every route (gateway/response-size.ts): read in full, its usage recorded, not sent.
    if (maxBytes !== undefined && size > maxBytes) {
      const refused = responseTooLarge(PASS_THROUGH_TARGET, maxBytes, `(${size} bytes) is over`);
      finish({ usage, stream: false }, refused);
      throw refused;
    }
    finish({ usage, stream: false }, failure);
    return reply.code(status).headers(headers).send(text);
  }
  // Anything else (SSE, files, …) streams through as it arrives; the row is written when it ends.
  const stream = /text\/event-stream/i.test(contentType);
  // Set when the answer passed max_response_size_mb: the target's call is aborted and the client's response ends short.
  let cut: GatewayError | undefined;
  // pipeline, not pipe: a client gone (the capped stream destroyed) destroys the target's body too, so its row is written.
  const sent = maxBytes === undefined ? answer.body : pipeline(answer.body, sizeCappedBytes(maxBytes, () => {
    cut = responseTooLarge(PASS_THROUGH_TARGET, maxBytes, 'passed');
    abort.abort(cut);
    return cut;
  }), () => {});
  answer.body.once('end', () => finish({ usage: undefined, stream }, failure));
  // A client gone destroys the body too (pipeline): that is the client's hang-up, not the target breaking off.
  answer.body.once('error', () => finish(cut || context.client.gone ? { usage: undefined, stream } : undefined, cut ?? failure ?? (context.client.gone ? clientClosed() : new GatewayError('upstream_connection', 'the pass-through target broke off its answer'))));
  // Destroyed before its end (the client went away, and the relay with it): recorded as aborted.
  answer.body.once('close', () => finish({ usage: undefined, stream }, cut ?? failure ?? clientClosed()));
  return reply.code(status).headers(headers).send(sent);
}

const clientClosed = () => new GatewayError('client_closed_request', 'the client closed the connection before the answer ended');

/** How the target is named in a max_response_size_mb refusal. */
const PASS_THROUGH_TARGET = 'the pass-through target';

/**
 * The bytes as they come until the chunk that would pass `maxBytes`: that chunk is held back and
 * the stream fails with `exceeded()`'s error (raw bytes carry no error event: the response ends short).
 */
function sizeCappedBytes(maxBytes: number, exceeded: () => GatewayError): Transform {
  let written = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (written + chunk.length > maxBytes) return done(exceeded());
      written += chunk.length;
      done(null, chunk);
    },
  });
}

/**
 * Serves the configured pass-through endpoints. `env` resolves the `os.environ/VAR` that ends a
 * header value; an unset one fails the start, naming the entry.
 */
/**
 * A pass-through target has no price, so a call through it cannot be reserved against a budget or
 * charged to credits. Callers held to money — a key, user or team with a budget (its own or a
 * linked budget object), a key with per-model budgets, every virtual key under the proxy-wide budget, or a user paying credits on the platform — are refused instead of being
 * let through unbilled. Rate limits count these calls like any other (gateway/stages/admit.ts).
 */
export function unpricedRefusal(principal: ResolvedKey | undefined, creditsOn: boolean, proxyBudget = false): GatewayError | undefined {
  if (!principal) return undefined;
  const held = [principal.key, principal.user, principal.team].find((limits) => limits && (limits.maxBudgetMicros !== null || (limits.budgetId ?? null) !== null));
  // A per-model budget holds the key to money too: the relayed body is never read, so the model it calls is unknown.
  const perModel = principal.key.modelMaxBudget !== undefined && Object.keys(principal.key.modelMaxBudget).length > 0;
  // The proxy-wide budget (litellm_settings.max_budget) holds every virtual key to money.
  if (held || perModel || proxyBudget || (creditsOn && principal.user)) {
    return new GatewayError('permission_denied', 'pass-through endpoints carry no price, so a key held to a budget or paying credits cannot call them (every call it makes must be charged): use a key without a budget for this route');
  }
  return undefined;
}

/**
 * A pass-through relays its body unread, so it reaches every model its target serves: a model
 * allow-list cannot be held there. A caller whose key, team or user restricts models (a non-empty
 * list without `*`, `all-proxy-models` or `all-team-models`) is refused rather than let past its
 * list; the refusal names the first list that restricts it. Admins (llm.manage_providers) are not asked.
 */
export function modelRestrictionRefusal(principal: ResolvedKey | undefined): GatewayError | undefined {
  if (!principal) return undefined;
  const restricts = (models: readonly string[] | undefined) => models !== undefined && models.length > 0 && !models.some((model) => ALL_MODELS.has(model));
  const { key, team, user } = principal;
  const owner = restricts(key.models) ? (key.alias ? `key "${key.alias}"` : `key ${key.prefix}`)
    : restricts(team?.models) ? `team "${team!.teamId}"`
    : restricts(user?.models) ? `user "${user!.userId}"`
    : undefined;
  if (!owner) return undefined;
  return new GatewayError('permission_denied', `${owner} is limited to a model allow-list, and a pass-through endpoint relays its body unread to a target that serves any model, so the allow-list cannot be held there: call the models through the gateway's own routes (/v1/chat/completions, /v1/messages, …), or use a key without a model restriction for this route`);
}

/**
 * The same for the platform's limits beyond those lists: a tier with `models`, and a routing rule
 * with allow_models, deny_models or route_to whose conditions on the caller (tiers, teams, users,
 * key_aliases) hold — its conditions on the request cannot be read here, so they are taken to hold
 * (routing-rules.ts mayLimitModels). A rule with max_tokens_cap is held the same way (mayCapTokens):
 * the body's max_tokens cannot be lowered unread. The refusal names the tier or the first such rule,
 * and why. Admins are not asked.
 */
export function ruleOrTierRefusal(platform: PlatformLayer | undefined, caller: Caller): GatewayError | undefined {
  if (!platform) return undefined;
  const tier = platform.tierOf(caller.principal);
  if (tier && tierLimit(tier)) return modelsRefusal(`tier "${tier.name}"`);
  const ruleCaller: RuleCaller = { tier: tier?.name, team: caller.teamId, user: caller.userId, keyAlias: caller.keyAlias };
  for (const rule of platform.rules.rules()) {
    if (mayLimitModels(rule, ruleCaller)) return modelsRefusal(`routing rule "${rule.name}"`);
    if (mayCapTokens(rule, ruleCaller)) {
      return new GatewayError('permission_denied', `routing rule "${rule.name}" caps max_tokens at ${rule.action.max_tokens_cap} for you, and a pass-through endpoint relays its body unread to its target, so that cap cannot be applied there: call the models through the gateway's own routes (/v1/chat/completions, /v1/messages, …), or use a key no such rule applies to for this route`);
    }
  }
  return undefined;
}

function modelsRefusal(owner: string): GatewayError {
  return new GatewayError('permission_denied', `${owner} limits the models you may call, and a pass-through endpoint relays its body unread to a target that serves any model, so that limit cannot be held there: call the models through the gateway's own routes (/v1/chat/completions, /v1/messages, …), or use a key no such limit applies to for this route`);
}

export function registerPassThroughRoutes(app: FastifyInstance, deps: { gateway: Gateway; endpoints: PassThroughEndpoint[]; env: Record<string, string | undefined>; creditsOn?: boolean; platform?: PlatformLayer; proxyBudget?: boolean; keyHeader?: string }): void {
  const { gateway } = deps;
  const routes = deps.endpoints.map((entry, index): Relay => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(entry.headers ?? {})) headers[name] = resolveHeader(value, deps.env, `general_settings.pass_through_endpoints[${index}].headers.${name}`);
    return { entry, headers, keyHeader: deps.keyHeader?.toLowerCase() };
  });
  void app.register(async (scope) => {
    // Bodies go to the target as they came: never parsed.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    for (const route of routes) {
      const { entry } = route;
      const open = entry.auth === false;
      const path = entry.path.replace(/\/+$/, '') || '/';
      const urls = entry.include_subpath ? [path, `${path === '/' ? '' : path}/*`] : [path];
      for (const url of urls) {
        if (scope.hasRoute({ url, method: 'GET' }) || scope.hasRoute({ url, method: 'POST' })) {
          throw new Error(`general_settings.pass_through_endpoints: ${entry.path} is a path the gateway serves itself; choose another path`);
        }
        scope.route({
          method: [...(entry.methods ?? DEFAULT_METHODS)],
          url,
          config: open ? { public: true } : { endpoint: 'pass_through' },
          preHandler: open ? undefined : requirePermission('llm.execute'),
          handler: async (request, reply) => {
            if (!open) {
              const refused = unpricedRefusal(request.call!.caller.principal, deps.creditsOn === true, deps.proxyBudget === true);
              if (refused) throw refused;
              const restricted = can(request, 'llm.manage_providers') ? undefined : modelRestrictionRefusal(request.call!.caller.principal) ?? ruleOrTierRefusal(deps.platform, request.call!.caller);
              if (restricted) throw restricted;
              // Rate limits (the key's, user's, team's and the end user's) count these calls too.
              const ticket = await gateway.admitUnpriced(request.call!);
              return relay(gateway, route, request, reply, request.call!, ticket);
            }
            const context = anonymousContext(request);
            reply.header('x-switchboard-call-id', context.callId);
            reply.raw.on('close', () => {
              if (!reply.raw.writableFinished) context.client.close();
            });
            return relay(gateway, route, request, reply, context);
          },
        });
      }
    }
  });
}
