/**
 * OAuth access tokens for Vertex AI, one cache per set of credentials: fetched once, reused by
 * every call, refreshed in the background before they expire (a call waits only when no valid
 * token is held). This is the one part of a provider that does I/O; the upstream client calls it
 * (UpstreamRequest.authorizer), never an adapter.
 */
import { readFile } from 'node:fs/promises';
import type { AuthClient } from 'google-auth-library';
import { lazyModule } from '../../lazy-module.js';
import type { RequestAuthorizer } from '../types.js';
import { isInlineCredentials } from './settings.js';

/** google-auth-library is loaded with the first Vertex AI token, not at start. */
const googleAuth = lazyModule<typeof import('google-auth-library')>('google-auth-library');

const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
/** The token endpoint google-auth-library signs service-account assertions for. */
const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
/** Refresh a token this long before it expires, so that no call carries one that lapses upstream. */
export const REFRESH_MARGIN_MS = 5 * 60_000;

export interface FetchedToken {
  token: string;
  /** Epoch ms; undefined when the issuer did not say (the token is then refreshed after REFRESH_MARGIN_MS). */
  expiresAt?: number;
}

export type TokenFetcher = () => Promise<FetchedToken>;

export class CachedAccessToken implements RequestAuthorizer {
  private held: { token: string; expiresAt: number; refreshAt: number } | undefined;
  private pending: Promise<string> | undefined;

  constructor(
    private readonly fetch: TokenFetcher,
    private readonly now: () => number = Date.now,
  ) {}

  async headers(): Promise<Record<string, string>> {
    return { authorization: `Bearer ${await this.token()}` };
  }

  /** The held token while it is valid (refreshing it in the background once it nears expiry); else a fresh one. */
  token(): Promise<string> {
    const held = this.held;
    const now = this.now();
    if (held && held.expiresAt > now) {
      if (now >= held.refreshAt) this.refresh().catch(() => undefined); // the next caller sees the error
      return Promise.resolve(held.token);
    }
    return this.refresh();
  }

  /** One fetch at a time, shared by every caller that needs it. */
  private refresh(): Promise<string> {
    this.pending ??= this.fetch()
      .then(({ token, expiresAt }) => {
        const now = this.now();
        const expires = expiresAt ?? now + 2 * REFRESH_MARGIN_MS;
        // A token shorter-lived than twice the margin is refreshed half-way through its life, not on every call.
        this.held = { token, expiresAt: expires, refreshAt: expires - Math.min(REFRESH_MARGIN_MS, (expires - now) / 2) };
        return token;
      })
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }
}

interface CredentialsJson {
  type?: string;
  token_uri?: string;
  [key: string]: unknown;
}

async function loadCredentials(credentials: string): Promise<CredentialsJson> {
  const json = isInlineCredentials(credentials) ? credentials : await readFile(credentials, 'utf8');
  return JSON.parse(json) as CredentialsJson;
}

/**
 * google-auth-library signs service-account assertions for Google's token endpoint and posts them
 * there whatever the key file's `token_uri` says; Google's Python library (which LiteLLM uses)
 * posts to `token_uri`. Honour it, so private token endpoints (and test ones) work.
 */
function honourTokenUri(client: AuthClient, tokenUri: string | undefined): void {
  if (!tokenUri || tokenUri === GOOGLE_TOKEN_URL) return;
  client.transporter.interceptors.request.add({
    resolved: async (options) => {
      if (String(options.url) === GOOGLE_TOKEN_URL) options.url = new URL(tokenUri);
      return options;
    },
  });
}

/** Fetches tokens with google-auth-library: from the given credentials, or Application Default Credentials. */
export function googleTokenFetcher(credentials: string | undefined): TokenFetcher {
  let client: Promise<AuthClient> | undefined;
  const clientOf = async (): Promise<AuthClient> => {
    const json = credentials ? await loadCredentials(credentials) : undefined;
    const auth = new (googleAuth().GoogleAuth)({
      scopes: [CLOUD_PLATFORM_SCOPE],
      ...(json ? { credentials: json } : {}),
      clientOptions: { eagerRefreshThresholdMillis: REFRESH_MARGIN_MS },
    });
    const created = await auth.getClient();
    honourTokenUri(created, json?.token_uri);
    return created;
  };
  return async () => {
    client ??= clientOf().catch((error: unknown) => {
      client = undefined; // a file fixed later is read again
      throw error;
    });
    const authClient = await client;
    let token: string | null | undefined;
    try {
      ({ token } = await authClient.getAccessToken());
    } catch (error) {
      client = undefined; // a rotated key file is read again by the next fetch
      throw error;
    }
    if (!token) throw new Error('the token endpoint returned no access token');
    const expiry = (authClient as { credentials?: { expiry_date?: number | null } }).credentials?.expiry_date;
    return { token, expiresAt: typeof expiry === 'number' ? expiry : undefined };
  };
}

const CACHES = new Map<string, CachedAccessToken>();

/** The shared token cache of a set of credentials (undefined: Application Default Credentials). */
export function vertexAuthorizer(credentials: string | undefined): RequestAuthorizer {
  const key = credentials ?? '';
  let cache = CACHES.get(key);
  if (!cache) {
    cache = new CachedAccessToken(googleTokenFetcher(credentials));
    CACHES.set(key, cache);
  }
  return cache;
}
