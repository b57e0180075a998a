import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import type { Deployment } from '../providers/types.js';
import { keepAliveOf } from './warm-up.js';

const deployment = (keep_warm: unknown): Deployment => ({ id: 'd', modelName: 'm', provider: 'ollama_chat', upstreamModel: 'qwen3', apiBase: 'http://llm01:11434', headers: {}, defaultParams: {}, modelInfo: { keep_warm }, available: true });

describe('model_info.keep_warm', () => {
  it('becomes Ollama keep_alive: true stays loaded (-1), a duration or seconds as given', () => {
    expect(keepAliveOf(deployment(true))).toBe(-1);
    expect(keepAliveOf(deployment('30m'))).toBe('30m');
    expect(keepAliveOf(deployment(600))).toBe(600);
    expect(keepAliveOf(deployment(false))).toBeUndefined();
    expect(keepAliveOf(deployment(undefined))).toBeUndefined();
  });

  it('is validated in the config, like model_info.local', () => {
    const yaml = (info: string) => `model_list:\n  - model_name: m\n    litellm_params: { model: ollama_chat/qwen3 }\n    model_info: ${info}\n`;
    const errors = (info: string) => parseConfig(yaml(info), {}).issues.filter((issue) => issue.severity === 'error').map((issue) => issue.message);
    expect(errors('{ keep_warm: true, local: true }')).toEqual([]);
    expect(errors('{ keep_warm: "24h" }')).toEqual([]);
    expect(errors('{ keep_warm: "soon" }').join(' ')).toContain('expected a duration such as "30m" or "24h"');
    expect(errors('{ local: "yes" }').join(' ')).toContain('expected true or false');
  });
});
