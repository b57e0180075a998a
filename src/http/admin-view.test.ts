import { describe, expect, it } from 'vitest';
import { publicModelView } from './admin-view.js';

describe('publicModelView', () => {
  it('keeps what a model does and drops where it lives and how it authenticates', () => {
    const view = {
      model_name: 'chat',
      litellm_params: { model: 'openai/gpt-4o', api_base: 'http://10.0.0.5/v1', base_url: 'http://10.0.0.5', api_key: '***…wxyz', headers: { 'x-token': '***' }, organization: 'org-1', aws_secret_access_key: '***', temperature: 0.2, max_tokens: 100, rpm: 60 },
      model_info: { id: 'dep-1', available: false, unavailable_reason: 'environment variable INTERNAL_KEY is not set', input_cost_per_token: 0.000001 },
    };
    expect(publicModelView(view)).toEqual({
      model_name: 'chat',
      litellm_params: { model: 'openai/gpt-4o', temperature: 0.2, max_tokens: 100, rpm: 60 },
      model_info: { id: 'dep-1', available: false, unavailable_reason: null, input_cost_per_token: 0.000001 },
    });
  });
});
