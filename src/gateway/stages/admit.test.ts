import { describe, expect, it } from 'vitest';
import type { Admission, Ticket } from '../../auth/admission.js';
import type { ResolvedKey } from '../../auth/key-directory.js';
import { GatewayError } from '../../errors.js';
import type { CreditTicket } from '../../platform/credit-gate.js';
import type { PlatformLayer } from '../../platform/layer.js';
import { chatCall, fakeCatalog, fakeContext, fakeDeployment, recordingNext, recordingRouter, silentLogger } from '../../../test/support/stage-fakes.js';
import { failureOf, type Call } from '../call.js';
import { admitStage } from './admit.js';
import { resolveStage } from './resolve.js';

const catalog = fakeCatalog([fakeDeployment('dep-a', 'model-a')]);
const principal = { key: { id: 'key-1' } } as unknown as ResolvedKey;
const ticket: Ticket = { headers: { 'x-ratelimit-remaining-requests': '9' }, settle: () => [], extend: async () => true };

/** A call of a virtual key as the resolve stage leaves it. */
async function resolvedCall(): Promise<Call> {
  const next = recordingNext();
  const call = chatCall({ model: 'model-a' }, { context: fakeContext({ caller: { keyHash: 'h', keyAlias: null, userId: 'u', teamId: null, isAdmin: false, principal } }) });
  const unrestricted = { ...call };
  await resolveStage({ catalog, router: recordingRouter(), logger: silentLogger })({ ...unrestricted, context: { ...call.context, caller: { ...call.context.caller, principal: undefined } } }, next);
  return { ...next.calls[0], context: call.context, level: { level: undefined, levelModel: undefined } };
}

describe('admit stage', () => {
  it('hands next the ticket and the credit reservation', async () => {
    const credits = { level: undefined } as unknown as CreditTicket;
    const admission = { admit: async () => ticket } as unknown as Admission;
    const platform = { reserveCredits: async () => credits } as unknown as PlatformLayer;
    const next = recordingNext();
    await admitStage({ admission, platform })(await resolvedCall(), next);
    expect(next.calls[0].admission).toEqual({ ticket, credits });
  });

  it('keeps the ticket already taken with the error when the credit reservation fails, so the record releases it', async () => {
    const admission = { admit: async () => ticket } as unknown as Admission;
    const platform = {
      reserveCredits: async () => {
        throw new GatewayError('insufficient_credits', 'no credits');
      },
    } as unknown as PlatformLayer;
    const next = recordingNext();
    const error = (await admitStage({ admission, platform })(await resolvedCall(), next).catch((caught: GatewayError) => caught)) as GatewayError;
    expect(error.code).toBe('insufficient_credits');
    expect(failureOf(error)?.call.admission).toEqual({ ticket });
    expect(next.calls).toHaveLength(0);
  });

  it('passes the master key’s call through unchanged', async () => {
    const admission = { admit: async () => ticket } as unknown as Admission;
    const call = chatCall({ model: 'model-a' });
    const next = recordingNext();
    await admitStage({ admission })(call, next);
    expect(next.calls[0]).toBe(call);
  });
});
