import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildDeployments } from './deployments.js';
import { forbiddenKeyPaths, formatIssue, parseConfig } from './load.js';

describe('parseConfig (LiteLLM config.yaml)', () => {
  it('accepts a LiteLLM config as is and resolves os.environ/ references', () => {
    const loaded = parseConfig(
      `
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/OPENAI_API_KEY
      rpm: 100
      timeout: "30"
      max_tokens: 512
    model_info:
      id: gpt4o-primary
      input_cost_per_token: 0.000002
      output_cost_per_token: 0.000008
      quality_score: 9
router_settings:
  routing_strategy: least-busy
  num_retries: 3
  fallbacks: [{"gpt-4o": ["gpt-4o-mini"]}]
litellm_settings:
  drop_params: true
general_settings:
  master_key: os.environ/MASTER
environment_variables:
  MASTER: sk-from-config
`,
      { OPENAI_API_KEY: 'sk-openai' },
    );
    expect(loaded.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    expect(loaded.config.general_settings.master_key).toBe('sk-from-config');
    expect(loaded.config.router_settings.fallbacks).toEqual([{ 'gpt-4o': ['gpt-4o-mini'] }]);
    const [deployment] = buildDeployments(loaded);
    expect(deployment).toMatchObject({
      id: 'gpt4o-primary',
      modelName: 'gpt-4o',
      provider: 'openai',
      upstreamModel: 'gpt-4o',
      apiBase: 'https://api.openai.com/v1',
      apiKey: 'sk-openai',
      rpm: 100,
      timeoutMs: 30_000,
      defaultParams: { max_tokens: 512 },
      available: true,
      prices: { inputPerToken: 2_000_000, outputPerToken: 8_000_000 },
    });
  });

  it('reports invalid YAML with its line', () => {
    const loaded = parseConfig('model_list:\n  - model_name: x\n    litellm_params: {model: openai/x\n');
    const [issue] = loaded.issues;
    expect(issue.severity).toBe('error');
    expect(issue.message).toMatch(/invalid YAML/);
    expect(issue.line).toBeGreaterThanOrEqual(3);
  });

  it('warns that deployment tags route nothing without router_settings.enable_tag_filtering', () => {
    const yaml = (filtering: string) => `model_list:
  - model_name: gpt
    litellm_params:
      model: openai/gpt-4o
      tags: ["paid"]
${filtering}`;
    const warning = parseConfig(yaml(''), {}).issues.find((issue) => issue.message.includes('enable_tag_filtering'));
    expect(warning).toMatchObject({ severity: 'warning', fatal: false, path: ['model_list', 0, 'litellm_params', 'tags'], line: 5 });
    expect(parseConfig(yaml('router_settings:\n  enable_tag_filtering: true\n'), {}).issues.filter((issue) => issue.message.includes('enable_tag_filtering'))).toEqual([]);
  });

  it('reports an unknown provider prefix at the line of its model, as a warning: the gateway starts without it', () => {
    const loaded = parseConfig('model_list:\n  - model_name: x\n    litellm_params:\n      model: nosuch/model-1\n');
    const issue = loaded.issues.find((item) => item.kind === 'unavailable-model')!;
    expect(issue.message).toContain('unknown provider prefix "nosuch"');
    expect(issue.fatal).toBe(false);
    expect(issue.line).toBe(4);
    expect(formatIssue(issue, 'c.yaml')).toMatch(/^c\.yaml:4:\d+: warning: model_list\[0\]\.litellm_params\.model: unknown provider prefix "nosuch" \(the gateway starts, with this model unavailable\)/);
    expect(loaded.issues.filter((item) => item.fatal)).toEqual([]);
  });

  it('reports guardrail problems as config issues: a field that does not apply is fatal, a type not built in a warning', () => {
    const fatal = parseConfig('guardrails:\n  - guardrail_name: g\n    litellm_params:\n      guardrail: pii\n      blocked_words: [x]\n').issues.filter((item) => item.path[0] === 'guardrails');
    expect(fatal).toMatchObject([{ severity: 'error', fatal: true, message: 'guardrails[0] (g): litellm_params.blocked_words does not apply to a pii guardrail', line: 1 }]);
    const warned = parseConfig('guardrails:\n  - guardrail_name: l\n    litellm_params:\n      guardrail: lakera_v2\n').issues.filter((item) => item.path[0] === 'guardrails');
    expect(warned).toMatchObject([{ severity: 'warning', fatal: false }]);
    expect(warned[0].message).toContain('"lakera_v2" is not built in');
  });

  it('names a LiteLLM provider this version does not serve, with its reason', () => {
    const loaded = parseConfig('model_list:\n  - model_name: x\n    litellm_params:\n      model: sagemaker/jumpstart-llama\n  - model_name: y\n    litellm_params:\n      model: gpt-4o-mini\n');
    const issues = loaded.issues.filter((item) => item.kind === 'unavailable-model');
    expect(issues.map((item) => [item.path[1], item.message])).toEqual([[0, 'provider "sagemaker": AWS SageMaker endpoints are not served by this version (the gateway starts, with this model unavailable)']]);
  });

  it('an unset variable in a setting the gateway does not read is a warning; in one it reads, a fatal error', () => {
    const loaded = parseConfig(
      'litellm_settings:\n  success_callback: ["langfuse"]\n  service_callbacks: os.environ/UNSET_A\ngeneral_settings:\n  alert_to_webhook_url:\n    llm_exceptions: os.environ/UNSET_B\n  master_key: os.environ/UNSET_C\nguardrails:\n  - guardrail_name: g\n    litellm_params:\n      guardrail: lakera_v2\n      mode: pre_call\n      api_key: os.environ/UNSET_D\n  - guardrail_name: h\n    litellm_params:\n      guardrail: generic_guardrail_api\n      mode: pre_call\n      api_base: http://guard.example\n      api_key: os.environ/UNSET_E\n',
    );
    const missing = loaded.issues.filter((item) => item.kind === 'missing-env');
    expect(missing.map((item) => [item.message.split(' ')[2], item.severity, item.fatal])).toEqual([
      ['UNSET_A', 'warning', false],
      // alert_to_webhook_url is read (per-type Slack URLs): LiteLLM, too, refuses an unset variable there.
      ['UNSET_B', 'error', true],
      ['UNSET_C', 'error', true],
      // A guardrail type the gateway does not run never calls out; a built-in one's settings are needed.
      ['UNSET_D', 'warning', false],
      ['UNSET_E', 'error', true],
    ]);
  });

  it('organization on a provider that does not speak OpenAI\'s API is warned about: it is not sent', () => {
    const loaded = parseConfig('model_list:\n  - model_name: x\n    litellm_params:\n      model: anthropic/claude-3-5-haiku-20241022\n      api_key: k\n      organization: org-1\n  - model_name: y\n    litellm_params:\n      model: openai/gpt-4o\n      api_key: k\n      organization: org-1\n');
    expect(loaded.issues.map((item) => [item.line, item.message])).toEqual([[6, '"organization" is not sent to anthropic: only OpenAI-format APIs read the OpenAI-Organization header']]);
  });

  it('warns for each LiteLLM key it does not support, with the reason, and checks model_info keys', () => {
    const loaded = parseConfig(
      'model_list:\n  - model_name: x\n    litellm_params:\n      model: openai/gpt-4o\n      api_key: k\n    model_info:\n      supports_vision: true\n      access_groups: [a]\n      made_up_capability: 1\nlitellm_settings:\n  success_callback: ["datadog"]\n  cache: true\ngeneral_settings:\n  alerting: ["slack"]\n  disable_spend_logs: true\n',
    );
    const warnings = loaded.issues.filter((item) => item.severity === 'warning').map((item) => `${item.line} ${item.kind} ${item.message}`);
    expect(warnings).toEqual([
      '8 unsupported-key "access_groups" is not supported: access groups are not supported: list models on keys and teams',
      '9 unknown-key unknown key "made_up_capability" is ignored',
      '11 unsupported-key callback "datadog" is not supported: nothing is sent to it (the gateway sends to generic_api, generic, otel, langfuse)',
    ]);
  });

  it('takes the media prices of model_info that some endpoint bills, and warns about the two no endpoint bills', () => {
    const loaded = parseConfig(
      'model_list:\n  - model_name: x\n    litellm_params:\n      model: openai/whisper-1\n      api_key: k\n    model_info:\n      input_cost_per_second: 0.001\n      input_cost_per_character: 0.00001\n      input_cost_per_query: 0.005\n      output_cost_per_image: 0.02\n      input_cost_per_image: 0.01\n      output_cost_per_second: 0.001\n',
    );
    const warnings = loaded.issues.filter((item) => item.severity === 'warning').map((item) => `${item.line} ${item.kind} ${item.message.split(':')[0]}`);
    expect(warnings).toEqual(['11 unsupported-key "input_cost_per_image" is not supported', '12 unsupported-key "output_cost_per_second" is not supported']);
  });

  it('reports a wrong type at its line: in a model entry a warning (that model is unavailable), elsewhere a fatal error', () => {
    const loaded = parseConfig('model_list:\n  - model_name: x\n    litellm_params:\n      model: openai/x\n      rpm: lots\nrouter_settings:\n  num_retries: [1]\n');
    expect(loaded.issues.filter((issue) => issue.path[0] !== 'model_list' || issue.kind !== 'unknown-key').map((issue) => [issue.line, issue.severity, issue.fatal, issue.message])).toEqual([
      [5, 'warning', false, 'expected a number (the gateway starts, with this model unavailable)'],
      [7, 'error', true, expect.stringMatching(/number/)],
    ]);
  });

  it('each model_list entry is checked on its own: a malformed one is listed unavailable with its reasons, in its place, and the others serve', () => {
    const loaded = parseConfig(`model_list:
  - model_name: good
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: sk-1
  - model_name: lots
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: sk-1
      rpm: lots
      timeout: [1]
  - model_name: no-model
    litellm_params:
      api_key: sk-1
  - litellm_params:
      model: openai/gpt-4o
      api_key: sk-1
  - just-a-string
  - model_name: metadata
    litellm_params:
      model: openai/gpt-4o
      api_key: sk-1
      api_base: http://169.254.169.254/v1
  - model_name: good
    litellm_params:
      model: openai/gpt-4o
      api_key: sk-2
`);
    expect(loaded.issues.filter((issue) => issue.fatal)).toEqual([]);
    const warnings = loaded.issues.filter((issue) => issue.kind === 'unavailable-model');
    expect(warnings.map((issue) => [issue.line, issue.path.join('.'), issue.severity])).toEqual([
      [10, 'model_list.1.litellm_params.rpm', 'warning'],
      [11, 'model_list.1.litellm_params.timeout', 'warning'],
      [14, 'model_list.2.litellm_params.model', 'warning'],
      [15, 'model_list.3.model_name', 'warning'],
      [18, 'model_list.4', 'warning'],
      [23, 'model_list.5.litellm_params.api_base', 'warning'],
    ]);
    expect(warnings[3].message).toBe('is required: the name clients send as "model" (the gateway starts, with this model unavailable)');
    // model_list[i] is still the file's i-th entry: one deployment each, in order.
    expect(loaded.config.model_list.map((entry) => entry.model_name)).toEqual(['good', 'lots', 'no-model', 'model_list[3]', 'model_list[4]', 'metadata', 'good']);
    const deployments = buildDeployments(loaded);
    expect(deployments.map((deployment) => [deployment.modelName, deployment.available, deployment.unavailableReason])).toEqual([
      ['good', true, undefined],
      ['lots', false, 'invalid model entry: litellm_params.rpm: expected a number; litellm_params.timeout: expected a number'],
      ['no-model', false, 'invalid model entry: litellm_params.model: is required (e.g. "openai/gpt-4o")'],
      ['model_list[3]', false, 'invalid model entry: model_name: is required: the name clients send as "model"'],
      ['model_list[4]', false, 'invalid model entry: expected object, got string'],
      ['metadata', false, expect.stringMatching(/^api_base refused: "http:\/\/169\.254\.169\.254\/v1" points at /)],
      ['good', true, undefined],
    ]);
    expect(deployments[1]).toMatchObject({ provider: 'openai', upstreamModel: 'gpt-4o-mini' });
    expect(deployments[1]).not.toHaveProperty('rpm');
    // A refused address is never kept as the deployment's target.
    expect(deployments[5].apiBase).toBe('');
    expect(new Set(deployments.map((deployment) => deployment.id)).size).toBe(7);
  });

  it('a number is a model name; a missing or null one is not the name "undefined"', () => {
    const loaded = parseConfig('model_list:\n  - model_name: 4\n    litellm_params: {model: openai/x, api_key: k}\n  - model_name: null\n    litellm_params: {model: openai/x, api_key: k}\n');
    expect(loaded.config.model_list.map((entry) => entry.model_name)).toEqual(['4', 'model_list[1]']);
    expect(buildDeployments(loaded).map((deployment) => deployment.available)).toEqual([true, false]);
  });

  it('an api_base or base_url the gateway must not call makes the model unavailable, not the config fatal; allow_internal_api_base lets a link-local one through', () => {
    const config = (extra: string) => `model_list:\n  - model_name: a\n    litellm_params:\n      model: openai/x\n      api_key: k\n      api_base: https://api.openai.com/v1\n      base_url: http://[fe80::1]:8000\n  - model_name: b\n    litellm_params:\n      model: ollama/llama3\n      api_base: file:///etc/passwd\n${extra}`;
    const refused = parseConfig(config(''));
    expect(refused.issues.filter((issue) => issue.fatal)).toEqual([]);
    expect(refused.issues.filter((issue) => issue.kind === 'unavailable-model').map((issue) => [issue.line, issue.message])).toEqual([
      [7, expect.stringMatching(/^"http:\/\/\[fe80::1\]:8000" points at .*nothing is ever sent there\)$/)],
      [11, expect.stringMatching(/^"file:\/\/\/etc\/passwd" uses file:\/\/; only http:\/\/ and https:\/\/ upstreams are allowed/)],
    ]);
    const [a, b] = buildDeployments(refused);
    expect([a.available, a.apiBase, b.available, b.apiBase]).toEqual([false, '', false, '']);
    expect(a.unavailableReason).toMatch(/^api_base refused: "http:\/\/\[fe80::1\]:8000"/);
    const allowed = parseConfig(config('general_settings:\n  allow_internal_api_base: true\n'));
    expect(allowed.issues.filter((issue) => issue.kind === 'unavailable-model').map((issue) => issue.line)).toEqual([11]);
    expect(buildDeployments(allowed).map((deployment) => deployment.available)).toEqual([true, false]);
  });

  it('reports a missing environment variable; in a model entry the gateway still starts', () => {
    const loaded = parseConfig('model_list:\n  - model_name: x\n    litellm_params:\n      model: openai/x\n      api_key: os.environ/NOPE_KEY\ngeneral_settings:\n  master_key: os.environ/NOPE_MASTER\n', {});
    const [model, master] = loaded.issues;
    expect(model).toMatchObject({ severity: 'error', line: 5, fatal: false });
    expect(model.message).toContain('NOPE_KEY');
    expect(master).toMatchObject({ severity: 'error', line: 7, fatal: true });
    const [deployment] = buildDeployments(loaded);
    expect(deployment.available).toBe(false);
    expect(deployment.unavailableReason).toContain('NOPE_KEY');
  });

  it('warns about unknown keys without failing', () => {
    const loaded = parseConfig('model_list: []\nrouter_settings:\n  some_future_setting: 1\nmystery_section: {}\n');
    expect(loaded.issues.map((issue) => [issue.severity, issue.message, issue.line])).toEqual([
      ['warning', 'unknown key "some_future_setting" is ignored', 3],
      ['warning', 'unknown key "mystery_section" is ignored', 4],
    ]);
  });

  it('reads LiteLLM pass_through_endpoints under general_settings, and warns about unknown keys of an entry', () => {
    const loaded = parseConfig('model_list: []\ngeneral_settings:\n  pass_through_endpoints:\n    - path: /cohere\n      target: https://api.cohere.com\n      guardrails: {}\n');
    expect(loaded.config.general_settings.pass_through_endpoints).toEqual([{ path: '/cohere', target: 'https://api.cohere.com', guardrails: {} }]);
    expect(loaded.issues).toHaveLength(1);
    expect(loaded.issues[0]).toMatchObject({ severity: 'warning', line: 6, message: 'unknown key "guardrails" is ignored' });
  });

  it('requires litellm_params.model, pointing at the entry', () => {
    const loaded = parseConfig('model_list:\n  - model_name: x\n    litellm_params:\n      api_key: k\n');
    const issue = loaded.issues.find((item) => item.kind === 'unavailable-model')!;
    expect(issue).toMatchObject({ severity: 'warning', fatal: false, line: 4 });
    expect(issue.message).toMatch(/required/);
  });

  it('uses provider defaults: base URLs and key variables', () => {
    const loaded = parseConfig(
      `
model_list:
  - {model_name: a, litellm_params: {model: groq/llama-3.1-8b-instant}}
  - {model_name: b, litellm_params: {model: together_ai/meta-llama/Llama-3-8b}}
  - {model_name: c, litellm_params: {model: azure/my-deployment, api_base: "https://res.openai.azure.com", api_version: "2024-10-21"}}
  - {model_name: d, litellm_params: {model: hosted_vllm/qwen}}
  - {model_name: e, litellm_params: {model: lm_studio/phi}}
`,
      { GROQ_API_KEY: 'g', TOGETHERAI_API_KEY: 't', AZURE_API_KEY: 'az' },
    );
    const byName = Object.fromEntries(buildDeployments(loaded).map((deployment) => [deployment.modelName, deployment]));
    expect(byName.a).toMatchObject({ apiBase: 'https://api.groq.com/openai/v1', apiKey: 'g', available: true, upstreamModel: 'llama-3.1-8b-instant' });
    expect(byName.b).toMatchObject({ apiBase: 'https://api.together.xyz/v1', upstreamModel: 'meta-llama/Llama-3-8b' });
    expect(byName.c).toMatchObject({ provider: 'azure', apiKey: 'az', apiVersion: '2024-10-21', available: true });
    expect(byName.d).toMatchObject({ available: false });
    expect(byName.d.unavailableReason).toContain('api_base');
    expect(byName.e).toMatchObject({ apiBase: 'http://localhost:1234/v1', available: true, prices: { inputPerToken: 0, outputPerToken: 0 } });
  });

  it('a section holding only comments is empty, not an error', () => {
    const loaded = parseConfig('model_list:\ngeneral_settings:\n  # master_key: sk-x\nrouter_settings:\n', {});
    expect(loaded.issues).toEqual([]);
    expect(loaded.config.general_settings).toEqual({});
    expect(loaded.config.model_list).toEqual([]);
  });

  it('reads the shipped example config without errors other than absent keys', () => {
    const loaded = parseConfig(readFileSync('config.example.yaml', 'utf8'), {});
    expect(loaded.issues.filter((issue) => issue.fatal)).toEqual([]);
    expect(loaded.issues.filter((issue) => issue.severity === 'warning')).toEqual([]);
    const groups = new Set(buildDeployments(loaded).map((deployment) => deployment.modelName));
    for (const name of ['gemini-2.0-flash', 'gemini-1.5-flash', 'claude-3.5-sonnet', 'gpt-4o', 'gpt-4o-mini', 'llama3.1']) expect(groups.has(name)).toBe(true);
    expect(loaded.config.router_settings.fallbacks).toEqual([{ 'gemini-2.0-flash': ['gemini-1.5-flash', 'llama3.1'] }, { 'gemini-1.5-flash': ['llama3.1'] }]);
  });
});

describe('forbiddenKeyPaths', () => {
  it('finds __proto__, constructor and prototype keys at any depth, in lists too', () => {
    const raw = JSON.parse('{"a":{"__proto__":{"x":1}},"list":[{"constructor":2},{"ok":{"prototype":3}}],"fine":{"proto":4}}');
    expect(forbiddenKeyPaths(raw)).toEqual([['a', '__proto__'], ['list', 0, 'constructor'], ['list', 1, 'ok', 'prototype']]);
  });
});
