/**
 * LiteLLM settings that close access or cap spend (litellm_settings.max_budget,
 * key_generation_settings) are not supported here (upperbound_key_generate_params and
 * default_key_generate_params now are: item-279-key-generate-bounds-and-defaults.test.ts;
 * max_end_user_budget too: test/e2e/end-user-default-budget.test.ts; default_internal_user_params,
 * max_internal_user_budget: test/e2e/user-defaults.test.ts; general_settings.enforce_user_param,
 * enforced_params: test/e2e/required-params.test.ts; allowed_routes, admin_only_routes:
 * test/e2e/proxy-routes.test.ts). They
 * were warned about as any unsupported key, in words that did not say what was left open
 * (max_end_user_budget only as an "unknown key"), and the gateway started with the access or spend
 * they closed left open. Now a config that sets one (to anything but an empty default) is
 * warned about at start and by check-config in words naming the key and what ignoring it leaves
 * open; the gateway still starts (a LiteLLM config keeps working while the operator moves the
 * restriction onto keys, users and teams).
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
  ['litellm_settings', 'key_generation_settings: {personal_key_generation: {allowed_user_roles: [proxy_admin]}}', 'key_generation_settings'],
];

describe('LiteLLM access and spend settings are warned about with what they leave open, never ignored', () => {
  for (const [section, line, key] of CASES) {
    it(`${section}.${key}: warned about, naming the key and what ignoring it leaves open`, () => {
      const issue = warningOf(section, line, key);
      expect(issue, `${section}.${key} was not warned about as unsupported`).toBeDefined();
      expect(issue!.severity).toBe('warning');
      expect(issue!.message).toContain(`"${key}" is not supported`);
      expect(issue!.message).toMatch(/ignoring it leaves .+ open here/);
    });
  }

  it('the real gateway starts with one of them', async () => {
    const gateway = await startGateway(config('litellm_settings', 'max_budget: 100'));
    await gateway.close();
  });

  it('their empty defaults (false, [], {}, null) restrict nothing: warned about as unsupported, nothing said left open', () => {
    for (const [section, line] of [
      ['litellm_settings', 'key_generation_settings: {}'],
      ['litellm_settings', 'max_budget: null'],
    ] as const) {
      const loaded = parseConfig(config(section, line), {}, 'config.yaml');
      expect(loaded.issues.filter((issue) => issue.fatal), line).toEqual([]);
      const unsupported = loaded.issues.filter((issue) => issue.kind === 'unsupported-key');
      expect(unsupported.length, line).toBeGreaterThan(0);
      expect(unsupported.map((issue) => issue.message).join('\n'), line).not.toMatch(/leaves .+ open/);
    }
  });

  it('settings that only open access (public_routes) keep their plain warning', () => {
    const loaded = parseConfig(config('general_settings', 'public_routes: ["/health"]'), {}, 'config.yaml');
    expect(loaded.issues.filter((issue) => issue.fatal)).toEqual([]);
    const messages = loaded.issues.map((issue) => issue.message).join('\n');
    expect(messages).toContain('"public_routes" is not supported');
    expect(messages).not.toMatch(/leaves .+ open/);
  });
});
