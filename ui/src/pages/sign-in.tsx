/**
 * Sign-in with the master key (administrator) or a virtual key (user). The key is checked against
 * the gateway before it is kept: /user/list answers admins only; any key may read /key/info.
 */
import { useState, type FormEvent } from 'react';
import { isAdminKey, keyInfoSelf } from '../api/gateway';
import { errorText } from '../components/states';
import { session } from '../session';

export function SignInPage() {
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const ended = session.endedReason();

  async function submit(event: FormEvent) {
    event.preventDefault();
    const secret = key.trim();
    if (!secret) {
      setError('Enter a key: the master key or one of your sk-… keys.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const admin = await isAdminKey(secret);
      if (admin) {
        // The master key is no stored key (/key/info has nothing on it): no self lookup for admins.
        session.start({ key: secret, role: 'admin', label: 'administrator key', userId: null });
      } else {
        const self = await keyInfoSelf(secret);
        session.start({ key: secret, role: 'user', label: self.info.key_alias ?? self.info.key_name ?? 'your key', userId: self.info.user_id });
      }
      setKey('');
    } catch (caught) {
      const status = (caught as { status?: number }).status;
      setError(status === 401 ? 'The gateway does not know this key (or it is blocked or expired).' : errorText(caught));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="sign-in">
      <form className="card sign-in-card" onSubmit={submit} aria-labelledby="sign-in-title">
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true">
            S
          </span>
          Switchboard
        </div>
        <h1 id="sign-in-title">Sign in</h1>
        <p className="muted">Use the master key to administer the gateway, or your own key to see your keys, usage and credits.</p>
        {ended ? (
          <p className="notice" role="status">
            {ended}
          </p>
        ) : null}
        <div className="field">
          <label htmlFor="sign-in-key">API key</label>
          <input
            id="sign-in-key"
            name="key"
            type="password"
            autoComplete="off"
            spellCheck={false}
            placeholder="sk-…"
            value={key}
            onChange={(event) => setKey(event.target.value)}
            autoFocus
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? 'sign-in-error' : undefined}
          />
        </div>
        {error ? (
          <p id="sign-in-error" className="form-error" role="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" className="button button-primary button-block" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        <p className="muted small">The key stays in this browser tab only and is forgotten after 30 minutes without activity.</p>
      </form>
    </main>
  );
}
