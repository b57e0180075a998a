/** Who is calling: the key the request presented, as authentication resolved it. */
import type { ResolvedKey } from './key-directory.js';

export interface Caller {
  keyHash: string | null;
  /** The virtual key's stable id (null for the master key). */
  keyId?: string | null;
  keyAlias: string | null;
  userId: string | null;
  teamId: string | null;
  /** The master key, or a key whose user has the proxy_admin role. */
  isAdmin: boolean;
  /** The virtual key (with its user and team); absent for the master key. */
  principal?: ResolvedKey;
}
