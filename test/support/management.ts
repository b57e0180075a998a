/**
 * LiteLLM's management API (/key/*, /user/*, /team/*) as the key suites call it, the shapes of its
 * answers, and a config whose prices make a request's maximum cost (src/billing/max-cost.ts) easy
 * to compute exactly.
 */
import { createHash } from 'node:crypto';
import OpenAI from 'openai';
import { MASTER_KEY } from './gateway.js';

export interface LimitView {
  models: string[];
  spend: number;
  max_budget: number | null;
  soft_budget: number | null;
  budget_duration: string | null;
  budget_reset_at: string | null;
  rpm_limit: number | null;
  tpm_limit: number | null;
  max_parallel_requests: number | null;
  metadata: Record<string, unknown>;
  blocked: boolean;
  created_at: string;
  updated_at: string;
}

export interface KeyView extends LimitView {
  /** In /key/generate, /key/update and /key/list answers; /key/info leaves it out (LiteLLM does). */
  token: string;
  token_id: string;
  tags: string[];
  allowed_routes: string[];
  key_type: string;
  created_by: string | null;
  budget_id: null;
  litellm_budget_table: null;
  key_name: string;
  key_alias: string | null;
  user_id: string | null;
  team_id: string | null;
  aliases: Record<string, string>;
  expires: string | null;
  /** Per-model budgets in LiteLLM's current shape, and each entry's spend in its current period (USD). */
  model_max_budget: Record<string, { budget_limit: number; time_period: string | null }>;
  model_rpm_limit: Record<string, number>;
  model_tpm_limit: Record<string, number>;
  model_spend: Record<string, number>;
  model_max_budget_usage: Record<string, { current_spend: number; budget_limit: number; time_period: string | null }>;
}

/** /key/generate and /key/regenerate: the secret, shown once, and the key's fields. */
export interface GeneratedKey extends KeyView {
  key: string;
}

export interface UserView extends LimitView {
  user_id: string;
  user_email: string | null;
  user_alias: string | null;
  user_role: string;
}

export interface TeamView extends LimitView {
  team_id: string;
  team_alias: string | null;
  members_with_roles: Array<{ user_id: string; role: string }>;
}

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export interface ApiResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Management calls against one gateway, as the master key unless another key is given. */
export class Management {
  constructor(
    readonly url: string,
    readonly adminKey: string = MASTER_KEY,
  ) {}

  async call<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown, key: string = this.adminKey): Promise<ApiResponse<T>> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, headers: response.headers, body: (await response.json()) as T };
  }

  /** A call that must succeed (200); its body. */
  async ok<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown, key?: string): Promise<T> {
    const response = await this.call<T | ErrorBody>(method, path, body, key);
    if (response.status !== 200) throw new Error(`${method} ${path} answered ${response.status}: ${JSON.stringify(response.body)}`);
    return response.body as T;
  }

  /** A POST that must be refused with 400 naming `param` (and, when given, the field it meant); the error's message. */
  async refused(path: string, body: unknown, param: string, meant?: string): Promise<string> {
    const answer = await this.call<Partial<ErrorBody>>('POST', path, body);
    const what = `${path} ${JSON.stringify(body)} answered ${answer.status}: ${JSON.stringify(answer.body)}`;
    if (answer.status !== 400 || answer.body.error?.param !== param) throw new Error(`${what}; expected 400 naming "${param}"`);
    if (meant && !answer.body.error.message.includes(`did you mean "${meant}"`)) throw new Error(`${what}; expected it to suggest "${meant}"`);
    return answer.body.error.message;
  }

  generateKey(fields: Record<string, unknown> = {}): Promise<GeneratedKey> {
    return this.ok<GeneratedKey>('POST', '/key/generate', fields);
  }

  async keyInfo(key: string): Promise<KeyView> {
    return (await this.ok<{ key: string; info: KeyView }>('GET', `/key/info?key=${encodeURIComponent(key)}`)).info;
  }

  updateKey(key: string, fields: Record<string, unknown>): Promise<KeyView> {
    return this.ok<KeyView>('POST', '/key/update', { key, ...fields });
  }

  newUser(fields: Record<string, unknown>): Promise<UserView & { key?: string; token?: string }> {
    return this.ok('POST', '/user/new', fields);
  }

  async userInfo(userId: string): Promise<{ user_id: string; user_info: UserView; keys: KeyView[]; teams: TeamView[] }> {
    return this.ok('GET', `/user/info?user_id=${encodeURIComponent(userId)}`);
  }

  newTeam(fields: Record<string, unknown>): Promise<TeamView> {
    return this.ok('POST', '/team/new', fields);
  }

  async teamInfo(teamId: string): Promise<{ team_id: string; team_info: TeamView; keys: KeyView[] }> {
    return this.ok('GET', `/team/info?team_id=${encodeURIComponent(teamId)}`);
  }
}

/** Prices in USD per token: 1 and 2 micro-dollars (cheap), 10 and 20 (premium). */
export const CHEAP_PRICES = { input: 1, output: 2 };

/** Two chat model groups with exact prices on one OpenAI-compatible upstream, and the master key. */
export function pricedConfig(apiBase: string, extra = ''): string {
  return `
model_list:
  - model_name: cheap
    litellm_params: {model: openai/cheap-upstream, api_base: "${apiBase}", api_key: sk-upstream-test}
    model_info: {id: dep-cheap, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: premium
    litellm_params: {model: openai/premium-upstream, api_base: "${apiBase}", api_key: sk-upstream-test}
    model_info: {id: dep-premium, input_cost_per_token: 0.00001, output_cost_per_token: 0.00002}
router_settings:
  num_retries: 0
  disable_cooldowns: true
general_settings:
  master_key: ${MASTER_KEY}
${extra}`;
}

/**
 * The reservation bound of src/billing/max-cost.ts for a chat request of one user message: prompt
 * tokens ≤ UTF-8 bytes + 8 framing per message + 8; completion tokens ≤ max_tokens.
 */
export function promptBound(message: string): number {
  return Buffer.byteLength(message, 'utf8') + 8 + 8;
}

export function maxCostMicros(message: string, maxTokens: number, prices = CHEAP_PRICES): number {
  return promptBound(message) * prices.input + maxTokens * prices.output;
}

export function clientFor(url: string, key: string): OpenAI {
  return new OpenAI({ apiKey: key, baseURL: `${url}/v1`, maxRetries: 0 });
}

/** One chat call; resolves to the HTTP status (and headers), never throws for an API error. */
export async function chatStatus(client: OpenAI, body: { model: string; content?: string; max_tokens?: number }): Promise<{ status: number; headers: Headers; error?: InstanceType<typeof OpenAI.APIError> }> {
  try {
    const { response } = await client.chat.completions.create({ model: body.model, messages: [{ role: 'user', content: body.content ?? 'hi' }], max_tokens: body.max_tokens }).withResponse();
    return { status: response.status, headers: response.headers };
  } catch (error) {
    if (error instanceof OpenAI.APIError && typeof error.status === 'number') return { status: error.status, headers: error.headers ?? new Headers(), error };
    throw error;
  }
}

/** The error a call must fail with. */
export async function chatError(client: OpenAI, body: { model: string; content?: string; max_tokens?: number }): Promise<InstanceType<typeof OpenAI.APIError>> {
  const outcome = await chatStatus(client, body);
  if (!outcome.error) throw new Error(`expected the call to fail, it answered ${outcome.status}`);
  return outcome.error;
}
