import { describe, expect, it, vi } from 'vitest';
import { GatewayError } from '../errors.js';
import { assertMediaHostsResolvePublic, MAX_LOOKUPS_IN_FLIGHT, MEDIA_HOST_LOOKUP_TIMEOUT_MS, type MediaHostUse } from './media-host-resolution.js';

const hosts = (...names: string[]) => new Map<string, MediaHostUse>(names.map((name, index) => [name, { param: `messages[0].content[${index}].image_url.url`, url: `https://${name}/x.png` }]));
const answering = (zone: Record<string, string[]>) => async (name: string) => {
  const addresses = zone[name];
  if (!addresses) throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' });
  return addresses.map((address) => ({ address }));
};

describe('assertMediaHostsResolvePublic', () => {
  it('passes public answers and names that do not resolve', async () => {
    await expect(assertMediaHostsResolvePublic(hosts('a.example', 'b.example'), answering({ 'a.example': ['93.184.216.34', '2606:2800::1'] }))).resolves.toBeUndefined();
  });

  it('refuses the first name with an internal answer, naming its field, name and address', async () => {
    const error = await assertMediaHostsResolvePublic(hosts('a.example', 'b.example'), answering({ 'a.example': ['93.184.216.34'], 'b.example': ['8.8.8.8', '100.100.100.200'] })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).param).toBe('messages[0].content[1].image_url.url');
    expect((error as GatewayError).message).toMatch(/"b\.example" resolves to a shared address/);
    // The kind, not the address: the refusal maps no internal name to its address.
    expect((error as GatewayError).message).not.toContain('100.100.100.200');
  });

  it('reads link-local IPv6 answers with a zone, and IPv4-mapped ones', async () => {
    for (const address of ['fe80::1%eth0', '::ffff:10.0.0.1', '::1']) {
      await expect(assertMediaHostsResolvePublic(hosts('a.example'), answering({ 'a.example': [address] })), address).rejects.toThrow(/resolves to/);
    }
  });

  it('passes a name whose lookup outlasts the timeout (as unresolved), without waiting longer', async () => {
    vi.useFakeTimers();
    let finish: (entries: Array<{ address: string }>) => void = () => undefined;
    try {
      const pending = assertMediaHostsResolvePublic(hosts('slow.example'), () => new Promise((resolve) => (finish = resolve)));
      await vi.advanceTimersByTimeAsync(MEDIA_HOST_LOOKUP_TIMEOUT_MS);
      await expect(pending).resolves.toBeUndefined();
    } finally {
      finish([]);
      vi.useRealTimers();
    }
  });

  it(`runs at most ${MAX_LOOKUPS_IN_FLIGHT} lookups at once; one that hangs holds up only its own request, and gives its slot back when it ends`, async () => {
    let running = 0;
    let most = 0;
    const hung: Array<() => void> = [];
    const hanging = () => new Promise<Array<{ address: string }>>((resolve) => hung.push(() => resolve([])));
    const counting = async (name: string) => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      return name === 'inner.example' ? [{ address: '10.0.0.9' }] : [{ address: '93.184.216.34' }];
    };
    // One request's names hang: its lookups hold their slots past its deadline.
    vi.useFakeTimers();
    const stuck = assertMediaHostsResolvePublic(hosts('a.slow', 'b.slow', 'c.slow'), hanging);
    await vi.advanceTimersByTimeAsync(MEDIA_HOST_LOOKUP_TIMEOUT_MS);
    await expect(stuck).resolves.toBeUndefined();
    vi.useRealTimers();
    expect(hung).toHaveLength(MAX_LOOKUPS_IN_FLIGHT);
    // The hung lookups end: their slots serve the queued one, then the next requests.
    for (const end of hung.splice(0)) end();
    await new Promise((resolve) => setTimeout(resolve, 0));
    for (const end of hung.splice(0)) end();
    const names = Array.from({ length: 6 }, (_, index) => `h${index}.example`);
    await expect(assertMediaHostsResolvePublic(hosts(...names), counting)).resolves.toBeUndefined();
    expect(most).toBe(MAX_LOOKUPS_IN_FLIGHT);
    await expect(assertMediaHostsResolvePublic(hosts('outer.example', 'inner.example'), counting)).rejects.toThrow(/"inner\.example" resolves to a private address/);
  });

  it('refuses more than 32 names without looking any up', async () => {
    const lookup = vi.fn(answering({}));
    const names = Array.from({ length: 33 }, (_, index) => `h${index}.example`);
    await expect(assertMediaHostsResolvePublic(hosts(...names), lookup)).rejects.toThrow(/33 different hosts/);
    expect(lookup).not.toHaveBeenCalled();
  });
});
