/**
 * check-config's verdict on models that would start unavailable: `--strict --allow-missing-env` (a
 * config checked in CI without its secrets) fails only on models the config itself gets wrong,
 * never on one that merely waits for its provider's environment variables — whichever provider.
 */
import { describe, expect, it } from 'vitest';
import { checkReport } from './check-report.js';
import { parseConfig } from './load.js';

/** Models that lack only what the environment would give them (keys, AWS credentials and region, a Google Cloud project). */
const WAITING_FOR_ENVIRONMENT = `
  - model_name: bare-gemini
    litellm_params:
      model: gemini-1.5-flash
  - model_name: bedrock-env-credentials
    litellm_params:
      model: bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0
      aws_region_name: us-east-1
  - model_name: bedrock-env-region
    litellm_params:
      model: bedrock/meta.llama3-1-70b-instruct-v1:0
  - model_name: vertex-env-project
    litellm_params:
      model: vertex_ai/gemini-1.5-pro
  - model_name: vllm-env-base
    litellm_params:
      model: hosted_vllm/Qwen/Qwen2.5-7B-Instruct
  - model_name: referenced-key
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/CHECK_REPORT_TEST_UNSET_KEY`;

/** Models no environment can make servable. */
const WRONG_IN_CONFIG = `
  - model_name: sagemaker
    litellm_params:
      model: sagemaker/jumpstart-llama
  - model_name: bedrock-half-credentials
    litellm_params:
      model: bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0
      aws_region_name: us-east-1
      aws_access_key_id: AKIAEXAMPLE
  - model_name: vertex-mistral
    litellm_params:
      model: vertex_ai/mistral-large@2407
      vertex_project: acme`;

function report(models: string, options: { strict: boolean; allowMissingEnv: boolean }) {
  return checkReport(parseConfig(`model_list:${models}\n`, {}, 'c.yaml'), options);
}

const linesOf = (lines: string[], severity: 'error' | 'warning', model: string) => lines.filter((line) => line.includes(`: ${severity}: `) && line.includes(model));

describe('check-config on models that would start unavailable', () => {
  it('--strict --allow-missing-env: a model waiting only for its environment is a warning, whatever its provider', () => {
    const { lines, errors } = report(WAITING_FOR_ENVIRONMENT, { strict: true, allowMissingEnv: true });
    expect(errors, lines.join('\n')).toBe(0);
    for (const model of ['bare-gemini', 'bedrock-env-credentials', 'bedrock-env-region', 'vertex-env-project', 'vllm-env-base']) {
      expect(linesOf(lines, 'warning', `model "${model}"`), `${model}\n${lines.join('\n')}`).toHaveLength(1);
    }
    // The unset reference is reported at its line, as a warning under --allow-missing-env.
    expect(lines.some((line) => /warning: model_list\[5\]\.litellm_params\.api_key: environment variable CHECK_REPORT_TEST_UNSET_KEY is not set/.test(line))).toBe(true);
  });

  it('--strict --allow-missing-env still fails on what the config gets wrong', () => {
    const { lines, errors } = report(WAITING_FOR_ENVIRONMENT + WRONG_IN_CONFIG, { strict: true, allowMissingEnv: true });
    expect(linesOf(lines, 'error', 'provider "sagemaker"')).toHaveLength(1);
    expect(linesOf(lines, 'error', 'model "bedrock-half-credentials"')[0]).toContain('aws_access_key_id and aws_secret_access_key must both be set');
    expect(linesOf(lines, 'error', 'model "vertex-mistral"')[0]).toContain('is not served');
    expect(errors).toBe(3);
    for (const model of ['bare-gemini', 'bedrock-env-credentials', 'bedrock-env-region', 'vertex-env-project', 'vllm-env-base']) expect(linesOf(lines, 'error', `model "${model}"`), model).toEqual([]);
  });

  it('--strict without --allow-missing-env fails on the missing environment too', () => {
    const { lines } = report(WAITING_FOR_ENVIRONMENT, { strict: true, allowMissingEnv: false });
    for (const model of ['bare-gemini', 'bedrock-env-credentials', 'bedrock-env-region', 'vertex-env-project', 'vllm-env-base']) {
      expect(linesOf(lines, 'error', `model "${model}"`), `${model}\n${lines.join('\n')}`).toHaveLength(1);
    }
  });

  it('without --strict, every unavailable model is a warning and only the unset reference an error', () => {
    const { lines, errors } = report(WAITING_FOR_ENVIRONMENT + WRONG_IN_CONFIG, { strict: false, allowMissingEnv: false });
    expect(errors, lines.join('\n')).toBe(1);
    expect(lines.filter((line) => line.includes(': error: '))[0]).toContain('CHECK_REPORT_TEST_UNSET_KEY');
  });
});
