/**
 * The second half of the internal-media-URL check (media-url.ts reads the host as written): a
 * name that passed is resolved with the system resolver — the view of DNS a self-hosted upstream
 * next to the gateway has (getaddrinfo: /etc/hosts, search domains, then DNS) — and refused when
 * any address it resolves to is internal. That catches a name someone points at 169.254.169.254 or
 * 10.x in their own DNS zone, and the operator's split-horizon names (`grafana.corp.example.com`
 * answered with a private address inside the network), which no reading of the name can tell.
 *
 * What it cannot close: a name whose answer changes between this lookup and the upstream's own
 * (DNS rebinding), or whose servers answer the gateway late. A name that does not resolve here
 * (NXDOMAIN, a resolver that answers no public names, the timeout) passes: the upstream's fetch
 * fails the same way on the same resolver, and a gateway whose DNS reaches only its providers would
 * otherwise refuse every media URL. Egress rules on the upstream's host close the rest.
 *
 * Lookups run on libuv's thread pool, which the upstream connections' own lookups share: at most
 * MAX_LOOKUPS_IN_FLIGHT run at once, so names whose servers never answer hold up only the requests
 * that name them, never the gateway's connections to its providers.
 */
import dns from 'node:dns';
import { GatewayError } from '../errors.js';
import { addressKind } from './media-url.js';

/** How long a request waits for its names to resolve (a lookup slot included) before the ones left are passed as unresolved. */
export const MEDIA_HOST_LOOKUP_TIMEOUT_MS = 2000;
/** Distinct host names one request may name in its media URLs (each costs a lookup). */
export const MAX_MEDIA_HOSTS = 32;
/** Media-host lookups running at once, of libuv's four threads (the others serve the upstream connections). */
export const MAX_LOOKUPS_IN_FLIGHT = 2;

/** Where a name was first met in the request: the field (`messages[0].content[1].image_url.url`) and its URL. */
export interface MediaHostUse {
  param: string;
  url: string;
}

type Lookup = (name: string) => Promise<Array<{ address: string }>>;

/** The system resolver (getaddrinfo), every address of the name. */
const systemLookup: Lookup = (name) => dns.promises.lookup(name, { all: true, verbatim: true });

let inFlight = 0;
const queued: Array<() => void> = [];

/** A lookup slot: at once while fewer than MAX_LOOKUPS_IN_FLIGHT run, else when one is given back. */
function slot(): Promise<void> {
  if (inFlight < MAX_LOOKUPS_IN_FLIGHT) {
    inFlight++;
    return Promise.resolve();
  }
  return new Promise((resolve) => queued.push(resolve));
}

/** Gives a slot back: to the next lookup queued, or free. */
function release(): void {
  const next = queued.shift();
  if (next) next();
  else inFlight--;
}

/** The name's addresses; none when it did not resolve, or not before the request stopped waiting (`deadline`). */
async function addressesOf(name: string, lookup: Lookup, deadline: Promise<'late'>): Promise<string[]> {
  // The lookup runs once it has a slot, and gives the slot back when it ends — also after the request stopped waiting.
  const answer = slot().then(() => {
    const running = lookup(name).then(
      (entries) => entries.map((entry) => entry.address),
      () => [],
    );
    void running.finally(release);
    return running;
  });
  const result = await Promise.race([answer, deadline]);
  return result === 'late' ? [] : result;
}

/**
 * Resolves every name (in parallel, waiting at most MEDIA_HOST_LOOKUP_TIMEOUT_MS) and rejects with a
 * 400 naming the first field whose host resolves to an internal address — its kind, not the
 * address: the answer must not map the operator's internal names for whoever holds a key; more than
 * MAX_MEDIA_HOSTS names are refused outright.
 */
export async function assertMediaHostsResolvePublic(hosts: ReadonlyMap<string, MediaHostUse>, lookup: Lookup = systemLookup): Promise<void> {
  if (hosts.size > MAX_MEDIA_HOSTS) {
    const [, first] = [...hosts][MAX_MEDIA_HOSTS];
    throw new GatewayError(
      'invalid_request',
      `the request's media URLs name ${hosts.size} different hosts; at most ${MAX_MEDIA_HOSTS} are accepted, since each is resolved to check it is not an internal address: send the media inline (base64 data: URLs) or from fewer hosts`,
      { param: first.param },
    );
  }
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'late'>((resolve) => {
    timer = setTimeout(resolve, MEDIA_HOST_LOOKUP_TIMEOUT_MS, 'late');
    timer.unref();
  });
  const names = [...hosts.keys()];
  let answers: string[][];
  try {
    answers = await Promise.all(names.map((name) => addressesOf(name, lookup, deadline)));
  } finally {
    clearTimeout(timer);
  }
  for (let index = 0; index < names.length; index++) {
    for (const address of answers[index]) {
      const kind = addressKind(address);
      if (kind === undefined) continue;
      const use = hosts.get(names[index])!;
      throw new GatewayError(
        'invalid_request',
        `${use.param}: ${JSON.stringify(use.url.trim().slice(0, 100))} points at an internal address (its host "${names[index].slice(0, 100)}" resolves to ${kind}); a self-hosted upstream would fetch it from inside this gateway's network, so only a key with the llm.manage_providers permission may send one; send the media inline (a base64 data: URL) or as a public URL`,
        { param: use.param },
      );
    }
  }
}
