import { describe, expect, it } from 'vitest';
import { piiPrecheck } from './checks.js';
import { guardrailDefinitions } from './definitions.js';
import { PiiVault } from './pii.js';

const [pii] = guardrailDefinitions([
  { guardrail_name: 'pii-mask', litellm_params: { guardrail: 'pii', mode: 'pre_call', pii_entities_config: { EMAIL_ADDRESS: 'mask', PHONE_NUMBER: 'mask', CREDIT_CARD: 'block' } } },
] as never).definitions;

describe('piiPrecheck', () => {
  it('reports the entity types it masked and how many values, across every text', () => {
    const result = piiPrecheck(pii, ['write to a@example.com or b@example.com', 'or call +1 415-555-0123'], new PiiVault());
    expect([...result.masked].sort()).toEqual(['EMAIL_ADDRESS', 'PHONE_NUMBER']);
    expect(result.count).toBe(3);
    expect(result.rewrite?.('a@example.com')).toMatch(/^<EMAIL_ADDRESS_\d+>$/);
  });

  it('reports nothing masked on a clean prompt, and throws on an entity to block', () => {
    expect(piiPrecheck(pii, ['hello there'], new PiiVault())).toEqual({ masked: new Set(), count: 0 });
    expect(() => piiPrecheck(pii, ['card 4111 1111 1111 1111'], new PiiVault())).toThrow(/CREDIT_CARD/);
  });
});
