/**
 * LiteLLM settings that close access or cap spend were warned about as unsupported, and the gateway
 * started with the access or spend they closed left open. Each is honoured now, with its own test:
 * upperbound_key_generate_params and default_key_generate_params
 * (item-279-key-generate-bounds-and-defaults.test.ts), key_generation_settings
 * (test/e2e/key-generation-settings.test.ts), max_end_user_budget
 * (test/e2e/end-user-default-budget.test.ts), default_internal_user_params, max_internal_user_budget
 * and internal_user_budget_duration (test/e2e/user-defaults.test.ts), general_settings.enforce_user_param
 * and enforced_params (test/e2e/required-params.test.ts), allowed_routes and admin_only_routes
 * (test/e2e/proxy-routes.test.ts), max_budget and budget_duration (test/e2e/proxy-budget.test.ts).
 * Here: none of them is warned about as unsupported any more, the gateway starts with each, and a
 * setting that only opens access (public_routes) keeps its plain warning. The mechanism that words
 * what an unsupported restricting setting leaves open stays for any such setting added later.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { startGateway } from '../support/gateway.js';

const config = (section: string, line: string) => `
model_list: []
general_settings: {master_key: sk-test-master-key}
${section === 'general_settings' ? '' : `${section}:\n`}${section === 'general_settings' ? `general_settings:\n  master_key: sk-test-master-key\n` : ''}  ${line}
`.replace(/general_settings: \{master_key: sk-test-master-key\}\n(?=general_settings:)/, '');

const warningOf = (section: string, line: string, key: string) => {
  const loaded = parseConfig(config(section, line), {}, 'config.yaml');
  expect(loaded.issues.filter((issue) => issue.fatal), line).toEqual([]);
  return loaded.issues.find((issue) => issue.kind === 'unsupported-key' && issue.path.join('.') === `${section}.${key}`);
};

const CASES: Array<[string, string, string]> = [
  ['litellm_settings', 'max_budget: 100', 'max_budget'],
  ['litellm_settings', 'budget_duration: 30d', 'budget_duration'],
  ['litellm_settings', 'key_generation_settings: {personal_key_generation: {allowed_user_roles: [proxy_admin]}}', 'key_generation_settings'],
  ['litellm_settings', 'default_internal_user_params: {max_budget: 5, models: [cheap]}', 'default_internal_user_params'],
  ['litellm_settings', 'max_internal_user_budget: 10', 'max_internal_user_budget'],
  ['litellm_settings', 'internal_user_budget_duration: 30d', 'internal_user_budget_duration'],
  ['litellm_settings', 'max_end_user_budget: 1', 'max_end_user_budget'],
  ['general_settings', 'enforce_user_param: true', 'enforce_user_param'],
  ['general_settings', 'enforced_params: [user, metadata.generation_name]', 'enforced_params'],
  ['general_settings', 'allowed_routes: ["/chat/completions"]', 'allowed_routes'],
  ['general_settings', 'admin_only_routes: ["/key/generate"]', 'admin_only_routes'],
];

describe('LiteLLM access and spend settings are honoured, never only warned about', () => {
  for (const [section, line, key] of CASES) {
    it(`${section}.${key}: no "not supported" warning, no error`, () => {
      expect(warningOf(section, line, key), `${section}.${key} is still warned about as unsupported`).toBeUndefined();
    });
  }

  it('the real gateway starts with all of them', async () => {
    const litellm = CASES.filter(([section]) => section === 'litellm_settings').map(([, line]) => `  ${line}`).join('\n');
    const general = CASES.filter(([section]) => section === 'general_settings').map(([, line]) => `  ${line}`).join('\n');
    const gateway = await startGateway(`model_list: []\ngeneral_settings:\n  master_key: sk-test-master-key\n${general}\nlitellm_settings:\n${litellm}\n`);
    await gateway.close();
  });

  it('settings that only open access (public_routes) keep their plain warning', () => {
    const loaded = parseConfig(config('general_settings', 'public_routes: ["/health"]'), {}, 'config.yaml');
    expect(loaded.issues.filter((issue) => issue.fatal)).toEqual([]);
    const messages = loaded.issues.map((issue) => issue.message).join('\n');
    expect(messages).toContain('"public_routes" is not supported');
    expect(messages).not.toMatch(/leaves .+ open/);
  });
});
