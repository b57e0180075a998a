import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors.js';
import { chatCall, OK_RESULT } from '../../test/support/stage-fakes.js';
import { compose, failedWith, failureOf, type Stage } from './call.js';

describe('compose', () => {
  it('runs the stages in list order around the last function, each seeing the copy the one before handed on', async () => {
    const order: string[] = [];
    const tag = (name: string): Stage => async (call, next) => {
      order.push(`${name} sees ${call.modelName ?? '-'}`);
      const result = await next({ ...call, modelName: name });
      order.push(`${name} done`);
      return result;
    };
    const run = compose([tag('a'), tag('b')], async (call) => {
      order.push(`last sees ${call.modelName}`);
      return OK_RESULT;
    });
    const call = chatCall({ model: 'm' });
    expect(await run(call)).toBe(OK_RESULT);
    expect(order).toEqual(['a sees -', 'b sees a', 'last sees b', 'b done', 'a done']);
    expect(call.modelName).toBeUndefined();
  });

  it('with no stages is the last function itself', async () => {
    const last = async () => OK_RESULT;
    expect(compose([], last)).toBe(last);
  });
});

describe('failedWith', () => {
  it('keeps the call the failing stage saw with the error, and nothing with other errors', () => {
    const call = chatCall({ model: 'm' });
    const error = failedWith(new GatewayError('model_not_found', 'x'), call);
    expect(failureOf(error)).toEqual({ call, route: undefined });
    expect(failureOf(new GatewayError('model_not_found', 'x'))).toBeUndefined();
  });
});
