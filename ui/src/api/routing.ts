/**
 * Routing rules, tiers, explain and the Testing Lab (the platform layer's /api/v1/llm/routing/*
 * and /api/v1/llm/tiers; README "Tiers and routing rules").
 */
import { request } from './http';

export interface RuleMatch {
  tiers?: string[];
  power_levels?: string[];
  teams?: string[];
  users?: string[];
  key_aliases?: string[];
  tags?: string[];
  metadata?: Record<string, string | number | boolean>;
  model?: string[];
  task?: string[];
  has_tools?: boolean;
  has_images?: boolean;
  min_prompt_tokens?: number;
  max_prompt_tokens?: number;
}

export interface RuleAction {
  route_to?: string[];
  allow_models?: string[];
  deny_models?: string[];
  set_power_level?: string;
  max_tokens_cap?: number;
}

export interface RoutingRule {
  name: string;
  priority: number;
  enabled: boolean;
  match: RuleMatch;
  action: RuleAction;
  source: 'config' | 'api';
  created_at: string | null;
  updated_at: string | null;
}

export type RuleInput = Pick<RoutingRule, 'name' | 'priority' | 'enabled' | 'match' | 'action'>;

export async function listRules(): Promise<RoutingRule[]> {
  return (await request<{ rules: RoutingRule[] }>('/api/v1/llm/routing/rules')).rules;
}

export function createRule(rule: RuleInput): Promise<RoutingRule> {
  return request('/api/v1/llm/routing/rules', { body: rule });
}

export function updateRule(name: string, changes: Partial<RuleInput>): Promise<RoutingRule> {
  return request(`/api/v1/llm/routing/rules/${encodeURIComponent(name)}`, { method: 'PATCH', body: changes });
}

export function deleteRule(name: string): Promise<unknown> {
  return request(`/api/v1/llm/routing/rules/${encodeURIComponent(name)}`, { method: 'DELETE' });
}

/** What a call gets: the request body, and (for admins) the user it runs as; headers as fields. */
export interface ActingInput {
  request: Record<string, unknown>;
  user_id?: string;
  power_level?: string;
  task?: string;
}

export interface Explanation {
  user_id: string | null;
  tier: string | null;
  rule: string | null;
  requested_model: string;
  model?: string;
  fallbacks?: string[];
  power_level?: string | null;
  max_tokens?: number | null;
  limits?: string[];
  deployments?: Array<{ id: string; provider: string }>;
  refused: { status: number; code: string; message: string } | null;
}

export function explainRouting(input: ActingInput): Promise<Explanation> {
  return request('/api/v1/llm/routing/explain', { body: input });
}

export interface LabAnswer {
  call_id: string;
  user_id: string | null;
  tier: string | null;
  rule: string | null;
  model: string | null;
  deployment: string | null;
  provider: string | null;
  power_level: string | null;
  byok: boolean;
  usage: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number } | null;
  credits_cost: number | null;
  credits_remaining: number | null;
  content: unknown;
}

export function runLabCall(input: ActingInput): Promise<LabAnswer> {
  return request('/api/v1/llm/routing/test', { body: input });
}

export interface TierView {
  name: string;
  markup: number;
  initial_credits: number;
  /** The monthly allowance (platform.tiers.<tier>.monthly_credits; 0: none) and whether unused credits carry over. */
  monthly_credits: number;
  rollover: boolean;
  models: string[] | null;
  byok: boolean;
  power_levels: string[] | null;
  users: number;
}

export function listTiers(): Promise<{ default_tier: string; tiers: TierView[] }> {
  return request('/api/v1/llm/tiers');
}
