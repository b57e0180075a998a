/**
 * The signed-in key lives in sessionStorage (this tab only, gone when it closes) with an idle
 * expiry: every successful API call extends it, a quiet tab is signed out after IDLE_MS and any
 * tab after MAX_MS. The key is never written to a URL, a cookie or the console.
 */
export type Role = 'admin' | 'user';

export interface Session {
  key: string;
  role: Role;
  /** What the UI shows for the key: "master key" or the key's alias / display prefix. */
  label: string;
  userId: string | null;
  startedAt: number;
  expiresAt: number;
}

const STORAGE_KEY = 'switchboard.session';
export const IDLE_MS = 30 * 60_000;
export const MAX_MS = 12 * 60 * 60_000;

type Listener = () => void;
const listeners = new Set<Listener>();
let cached: Session | null | undefined;
let endedReason: string | null = null;

function read(): Session | null {
  try {
    const text = sessionStorage.getItem(STORAGE_KEY);
    return text ? (JSON.parse(text) as Session) : null;
  } catch {
    return null;
  }
}

function write(value: Session | null): void {
  cached = value;
  try {
    if (value) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(value));
    else sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // storage unavailable (private mode): the session lives in memory only
  }
  for (const listener of listeners) listener();
}

export const session = {
  current(): Session | null {
    if (cached === undefined) cached = read();
    if (cached && Date.now() > cached.expiresAt) {
      endedReason = 'Your session expired: sign in again.';
      write(null);
    }
    return cached;
  },
  start(value: Omit<Session, 'startedAt' | 'expiresAt'>): void {
    const now = Date.now();
    endedReason = null;
    write({ ...value, startedAt: now, expiresAt: now + IDLE_MS });
  },
  touch(): void {
    const current = cached ?? read();
    if (!current) return;
    const expiresAt = Math.min(current.startedAt + MAX_MS, Date.now() + IDLE_MS);
    if (expiresAt - current.expiresAt < 30_000) return;
    cached = { ...current, expiresAt };
    try {
      sessionStorage.setItem(STORAGE_KEY, JSON.stringify(cached));
    } catch {
      // memory only
    }
  },
  signOut(): void {
    endedReason = null;
    write(null);
  },
  expire(reason: string): void {
    if (!(cached ?? read())) return;
    endedReason = reason;
    write(null);
  },
  /** Why the last session ended (shown on the sign-in page), if not by signing out. */
  endedReason(): string | null {
    return endedReason;
  },
  subscribe(listener: Listener): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};
