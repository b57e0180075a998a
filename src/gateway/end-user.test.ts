import { describe, expect, it } from 'vitest';
import { endUserFromBody, endUserFromHeaders, MAX_END_USER_LENGTH } from './end-user.js';

describe('the end user a call is made for', () => {
  it('the configured header first, then x-litellm-end-user-id', () => {
    expect(endUserFromHeaders({ 'x-customer': 'a', 'x-litellm-end-user-id': 'b' }, 'X-Customer')).toBe('a');
    expect(endUserFromHeaders({ 'x-litellm-end-user-id': 'b' }, 'x-customer')).toBe('b');
    expect(endUserFromHeaders({})).toBeUndefined();
    expect(endUserFromHeaders({ 'x-litellm-end-user-id': '  ' })).toBeUndefined();
  });

  it('the body\'s user when it is a non-empty string', () => {
    expect(endUserFromBody({ user: 'u-1' })).toBe('u-1');
    expect(endUserFromBody({ user: 42 })).toBeUndefined();
    expect(endUserFromBody({ user: '' })).toBeUndefined();
  });

  it('an id longer than the bound is refused, never cut (a cut id could land on another customer)', () => {
    const long = 'x'.repeat(MAX_END_USER_LENGTH + 1);
    expect(() => endUserFromBody({ user: long })).toThrow(/at most 256 characters/);
    expect(() => endUserFromHeaders({ 'x-litellm-end-user-id': long })).toThrow(/at most 256 characters/);
  });
});
