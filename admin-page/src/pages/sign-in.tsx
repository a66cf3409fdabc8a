/** Sign-in with an admin key, exchanged for a session cookie; or, without any admin key, how to make one. */
import { useState } from 'preact/hooks';
import type { SessionState, SignedIn, SignInRequest } from '../../../src/admin/api-types';
import { api, messageOf, setCsrfToken } from '../api';
import { ErrorNote } from '../notes';

export const CREATE_ADMIN_KEY = 'ollama-bridge keys create --name me --admin --keys-file keys.json';

export function SignIn({ session, onSignedIn }: { session: SessionState; onSignedIn: () => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  if (!session.adminKeysConfigured) {
    return (
      <main class="narrow">
        <h1>ollama-bridge admin</h1>
        <p>No admin key is configured, so the admin page is closed.</p>
        <p>Create one, then start the gateway with that keys file and sign in with the key it prints:</p>
        <pre><code>{CREATE_ADMIN_KEY}{'\n'}ollama-bridge serve --keys-file keys.json</code></pre>
      </main>
    );
  }

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const body: SignInRequest = { key: key.trim() };
      const signedIn = await api<SignedIn>('POST', 'session', body);
      setCsrfToken(signedIn.csrfToken);
      setKey('');
      onSignedIn();
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="narrow">
      <h1>ollama-bridge admin</h1>
      <form class="stack" onSubmit={(event) => void submit(event)}>
        <label for="admin-key">Admin key</label>
        <input
          id="admin-key"
          type="password"
          autocomplete="off"
          spellcheck={false}
          required
          value={key}
          onInput={(event) => setKey(event.currentTarget.value)}
        />
        <p class="hint">A key with the admin scope, e.g. from <code>{CREATE_ADMIN_KEY}</code>.</p>
        <button type="submit" disabled={busy}>Sign in</button>
        <ErrorNote message={error} />
      </form>
    </main>
  );
}
