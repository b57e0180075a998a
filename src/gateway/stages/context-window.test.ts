import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import type { Deployment } from '../../providers/types.js';
import type { Operation } from '../call-context.js';
import { fittingDeployments } from './context-window.js';

const deployment = (id: string, window?: number) => ({ id, modelInfo: { id, ...(window !== undefined ? { max_input_tokens: window } : {}) } }) as unknown as Deployment;
const chat = (content: string) => ({ kind: 'chat', request: { model: 'g', messages: [{ role: 'user', content }] } }) as unknown as Operation;

describe('fittingDeployments (enable_pre_call_checks)', () => {
  it('keeps deployments without a declared window and those the prompt fits, in rank order', () => {
    const ranked = [deployment('small', 10), deployment('open'), deployment('large', 10_000)];
    expect(fittingDeployments(ranked, chat('x'.repeat(400)), 'g').map((item) => item.id)).toEqual(['open', 'large']);
    expect(fittingDeployments(ranked, chat('hi'), 'g').map((item) => item.id)).toEqual(['small', 'open', 'large']);
  });

  it('throws context_window_exceeded naming the group and the largest window when none fits', () => {
    const caught = (() => {
      try {
        fittingDeployments([deployment('a', 10), deployment('b', 20)], chat('x'.repeat(400)), 'group-1');
      } catch (error) {
        return error as GatewayError;
      }
    })();
    expect(caught).toBeInstanceOf(GatewayError);
    expect(caught!.code).toBe('context_window_exceeded');
    expect(caught!.status).toBe(400);
    expect(caught!.message).toMatch(/every deployment of "group-1" \(the largest takes 20 input tokens/);
  });
});
