/**
 * The second half of the internal-media-URL check (media-url.ts reads the host as written): a
 * name that passed is resolved with the system resolver — the view of DNS a self-hosted upstream
 * next to the gateway has — and refused when any address it resolves to is internal. That catches
 * a name someone points at 169.254.169.254 or 10.x in their own DNS zone, and the operator's
 * split-horizon names (`grafana.corp.example.com` answered with a private address inside the
 * network), which no reading of the name can tell.
 *
 * What it cannot close: a name whose answer changes between this lookup and the upstream's own
 * (DNS rebinding, or an answer delayed past the timeout below). A name that does not resolve here
 * (NXDOMAIN, a resolver that answers no public names, the timeout) passes: the upstream's fetch
 * fails the same way on the same resolver, and a gateway whose DNS reaches only its providers
 * would otherwise refuse every media URL. Egress rules on the upstream's host close the rest.
 */
import dns from 'node:dns';
import { GatewayError } from '../errors.js';
import { addressKind } from './media-url.js';

/** How long one lookup may take before the name is passed as unresolved. */
export const MEDIA_HOST_LOOKUP_TIMEOUT_MS = 2000;
/** Distinct host names one request may name in its media URLs (each costs a lookup). */
export const MAX_MEDIA_HOSTS = 32;

/** Where a name was first met in the request: the field (`messages[0].content[1].image_url.url`) and its URL. */
export interface MediaHostUse {
  param: string;
  url: string;
}

type Lookup = (name: string) => Promise<Array<{ address: string }>>;

/** The system resolver (getaddrinfo: /etc/hosts, then DNS), every address of the name. */
const systemLookup: Lookup = (name) => dns.promises.lookup(name, { all: true, verbatim: true });

async function addressesOf(name: string, lookup: Lookup): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, MEDIA_HOST_LOOKUP_TIMEOUT_MS, undefined);
    timer.unref();
  });
  try {
    const answer = await Promise.race([lookup(name).catch(() => undefined), timeout]);
    return answer ? answer.map((entry) => entry.address) : [];
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolves every name (in parallel) and rejects with a 400 naming the first field whose host
 * resolves to an internal address — its kind, not the address: the answer must not map the
 * operator's internal names for whoever holds a key; more than MAX_MEDIA_HOSTS names are refused
 * outright.
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
  const names = [...hosts.keys()];
  const answers = await Promise.all(names.map((name) => addressesOf(name, lookup)));
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
