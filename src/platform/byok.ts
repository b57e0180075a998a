/**
 * Bring-your-own-key: users store their own provider keys; a user's call to a deployment of that
 * provider that accepts own keys (byok-scope.ts: the provider's public API, or `model_info.byok`)
 * runs on their key, and costs no credits when the provider accepted the key. Keys are sealed with AES-256-GCM (SecretBox,
 * SWITCHBOARD_ENCRYPTION_KEY) before they reach the database, shown only masked, and never logged.
 * The request path reads an in-memory copy of the sealed keys (opened per call, a few microseconds),
 * reloaded when any replica changes one (ChangeFeed: Redis pub/sub, and a version row polled every
 * 500 ms).
 */
import type { Logger } from 'pino';
import { databaseNotReady, GatewayError } from '../errors.js';
import { knownProviderIds, providerSpec } from '../providers/specs.js';
import type { Deployment } from '../providers/types.js';
import { maskSecret, type SecretBox } from '../security/secret-box.js';
import { acceptsOwnKeys, takesApiKey } from './byok-scope.js';
import { ChangeFeed } from '../state/change-feed.js';
import type { ByokKeyRepository, StoredByokKey } from '../storage/repositories/byok-keys.js';
import type { PrincipalRepository } from '../storage/repositories/principals.js';

const VERSION_NAME = 'byok';

/** Request headers that carry a provider credential (OpenAI, Azure, Anthropic, Google, a proxy's). */
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'api-key', 'x-api-key', 'x-goog-api-key']);

/**
 * A deployment's `extra_headers` without its credentials, for an attempt on a user's own key: the
 * deployment's headers are sent after the key's, so an operator credential among them would win —
 * the call would run on the operator's account while recorded as the user's own (no credits).
 */
function withoutCredentialHeaders(headers: Record<string, string>): Record<string, string> {
  let kept: Record<string, string> | undefined;
  for (const name of Object.keys(headers)) {
    if (!CREDENTIAL_HEADERS.has(name.toLowerCase())) continue;
    kept ??= { ...headers };
    delete kept[name];
  }
  return kept ?? headers;
}

/**
 * The own keys one call runs on, taken when it is admitted (PlatformLayer.reserveCredits): the
 * credit reservation leaves out exactly the deployments these keys serve, so every attempt of the
 * call decides its key from them — a key deleted, re-sealed or moved out of the tier mid-call never
 * moves a retry onto the operator's key with nothing reserved for it.
 */
export interface OwnKeys {
  readonly userId: string;
  /** provider → sealed key, as stored when the call was admitted. */
  readonly sealed: ReadonlyMap<string, string>;
}

export interface ByokKeyView {
  provider: string;
  api_key: string;
  encryption_key_id: string;
  created_at: string;
  updated_at: string;
}

export class ByokDirectory {
  /** user id → provider → sealed key. */
  private cache = new Map<string, Map<string, string>>();
  private repository: ByokKeyRepository | undefined;
  private versions: PrincipalRepository | undefined;
  private readonly feed: ChangeFeed;

  constructor(
    private readonly box: SecretBox | undefined,
    private readonly logger: Logger,
    changes: { redisUrl?: string; redisPrefix?: string; pollIntervalMs?: number } = {},
  ) {
    this.feed = new ChangeFeed({ name: 'byok', logger, reload: () => this.reload(), ...changes });
  }

  /** Starts the Redis subscription (if any). */
  start(): Promise<void> {
    return this.feed.start();
  }

  attach(repository: ByokKeyRepository, versions: PrincipalRepository): void {
    this.repository = repository;
    this.versions = versions;
    void this.reload();
    void this.feed.attach({ version: () => versions.version(VERSION_NAME) });
  }

  close(): Promise<void> {
    return this.feed.close();
  }

  private async reload(): Promise<void> {
    if (!this.repository || !this.versions) return;
    try {
      const rows = await this.repository.all();
      const cache = new Map<string, Map<string, string>>();
      for (const row of rows) {
        // Only keys this gateway can open count: a key sealed under an encryption key no longer
        // listed must not make calls look "own key" (they would then reserve no credits).
        if (!this.opens(row)) continue;
        const providers = cache.get(row.user_id) ?? new Map<string, string>();
        providers.set(row.provider, row.sealed_key);
        cache.set(row.user_id, providers);
      }
      this.cache = cache;
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'could not load BYOK keys; retried on the next poll');
    }
  }

  private opens(row: StoredByokKey): boolean {
    if (!this.box) return false;
    try {
      this.box.open(row.sealed_key);
      return true;
    } catch (error) {
      this.logger.warn({ user: row.user_id, provider: row.provider, err: (error as Error).message }, 'a stored BYOK key cannot be opened (SWITCHBOARD_ENCRYPTION_KEY changed?); the user runs on credits for that provider');
      return false;
    }
  }

  /** Whether the user has a usable key for the provider. */
  has(userId: string | null | undefined, provider: string): boolean {
    return userId ? (this.cache.get(userId)?.has(provider) ?? false) : false;
  }

  /** Whether a call of the user to this deployment would run on the user's own key. */
  serves(userId: string | null | undefined, deployment: Deployment): boolean {
    return acceptsOwnKeys(deployment) && this.has(userId, deployment.provider);
  }

  /** The user's usable own keys now, for a call being admitted: a copy, which later changes do not reach. */
  keysOf(userId: string | null | undefined): OwnKeys | undefined {
    if (!userId || !this.box) return undefined;
    const sealed = this.cache.get(userId);
    return sealed && sealed.size > 0 ? { userId, sealed: new Map(sealed) } : undefined;
  }

  /** Whether a call admitted with these own keys runs on the user's key at this deployment. */
  servesWith(keys: OwnKeys | undefined, deployment: Deployment): boolean {
    return ownKeysServe(keys, deployment);
  }

  /**
   * A copy of the deployment on the user's own key when the call was admitted with one for it, else
   * undefined (the operator's key, which the reservation covered). A key the call was admitted with
   * that cannot be opened now refuses the attempt: it never falls back to the operator's key.
   */
  deploymentWith(keys: OwnKeys | undefined, deployment: Deployment): Deployment | undefined {
    if (!keys || !this.servesWith(keys, deployment)) return undefined;
    try {
      return { ...deployment, apiKey: this.requireBox().open(keys.sealed.get(deployment.provider)!), headers: withoutCredentialHeaders(deployment.headers) };
    } catch (error) {
      this.logger.error({ user: keys.userId, provider: deployment.provider, err: (error as Error).message }, 'a stored BYOK key cannot be opened; the attempt is refused (its call reserved no credits for the shared key)');
      throw new GatewayError('byok_key_unavailable', `your own ${deployment.provider} API key (bring-your-own-key), which this call was admitted to run on, cannot be opened; the call is not moved onto the platform's key, for which no credits were reserved. Store the key again (POST /api/v1/llm/byok/keys) or delete it to use credits`, { provider: deployment.provider });
    }
  }

  private requireBox(): SecretBox {
    if (!this.box) throw new GatewayError('not_ready', 'bring-your-own-key needs SWITCHBOARD_ENCRYPTION_KEY on the gateway (32 bytes as 64 hex characters; generate one with: openssl rand -hex 32)');
    return this.box;
  }

  private requireRepository(): ByokKeyRepository {
    if (!this.repository) throw databaseNotReady();
    return this.repository;
  }

  static provider(value: string): string {
    const spec = providerSpec(value.trim().toLowerCase());
    if (!spec) throw new GatewayError('invalid_request', `unknown provider "${value}": use one of ${knownProviderIds().join(', ')}`, { param: 'provider' });
    // Bedrock calls are signed with the deployment's AWS credentials, Vertex AI's carry a token from
    // its service account: there is no API key to bring (byok-scope.ts takesApiKey).
    if (!takesApiKey(spec.id)) throw new GatewayError('invalid_request', `${spec.id} takes no API key (its calls are signed with the deployment's ${spec.format === 'bedrock' ? 'AWS credentials' : 'service account'}): own keys cannot be used for it`, { param: 'provider' });
    return spec.id;
  }

  async store(userId: string, providerName: string, apiKey: string): Promise<ByokKeyView> {
    const box = this.requireBox();
    const repository = this.requireRepository();
    const provider = ByokDirectory.provider(providerName);
    const key = apiKey.trim();
    if (key.length < 8 || /\s/.test(key)) throw new GatewayError('invalid_request', '"api_key" must be the provider key itself: at least 8 characters, no spaces', { param: 'api_key' });
    const now = Date.now();
    const existing = await repository.find(userId, provider);
    const row: StoredByokKey = { user_id: userId, provider, sealed_key: box.seal(key), encryption_key_id: box.keyId, last4: key.slice(-4), created_at: existing?.created_at ?? now, updated_at: now };
    await repository.upsert(row);
    await this.changed();
    return view(row);
  }

  async list(userId: string): Promise<ByokKeyView[]> {
    return (await this.requireRepository().listFor(userId)).map(view);
  }

  async get(userId: string, providerName: string): Promise<ByokKeyView> {
    const provider = ByokDirectory.provider(providerName);
    const row = await this.requireRepository().find(userId, provider);
    if (!row) throw new GatewayError('not_found', `no ${provider} key stored for user "${userId}"`, { param: 'provider' });
    return view(row);
  }

  async remove(userId: string, providerName?: string): Promise<number> {
    const provider = providerName ? ByokDirectory.provider(providerName) : undefined;
    const deleted = await this.requireRepository().delete(userId, provider);
    if (deleted === 0) throw new GatewayError('not_found', provider ? `no ${provider} key stored for user "${userId}"` : `user "${userId}" has no stored keys`, { param: 'provider' });
    await this.changed();
    return deleted;
  }

  /** Users were deleted with their stored keys (principals.ts deleteUsers): their keys leave every replica's copy. */
  usersDeleted(): Promise<void> {
    return this.changed();
  }

  /** Reloads here at once and tells the other replicas (Redis message and version row). */
  private async changed(): Promise<void> {
    const versions = this.versions;
    if (versions) {
      await versions.bumpVersion(VERSION_NAME).catch((error: Error) => this.logger.warn({ err: error.message }, 'could not bump the BYOK version'));
      this.feed.noteVersion(await versions.version(VERSION_NAME).catch(() => 0));
    }
    await this.reload();
    await this.feed.publish();
  }
}

function view(row: StoredByokKey): ByokKeyView {
  // Masked from the last four characters alone: the plaintext is never read back for a listing.
  return { provider: row.provider, api_key: maskSecret(`${'x'.repeat(8)}${row.last4}`), encryption_key_id: row.encryption_key_id, created_at: new Date(Number(row.created_at)).toISOString(), updated_at: new Date(Number(row.updated_at)).toISOString() };
}

/** Whether a call admitted with these own keys runs on the user's key at this deployment (it then costs no credits). */
export function ownKeysServe(keys: Pick<OwnKeys, 'sealed'> | undefined, deployment: Pick<Deployment, 'provider' | 'apiBase' | 'modelInfo'>): boolean {
  return keys !== undefined && acceptsOwnKeys(deployment) && keys.sealed.has(deployment.provider);
}
