/** The page: sign-in until there is a session, then the views behind a tab bar. */
import { useCallback, useEffect, useState } from 'preact/hooks';
import type { SessionState } from '../../src/admin/api-types';
import { api, messageOf, setCsrfToken, whenSignedOut } from './api';
import { ErrorNote } from './notes';
import { VIEWS, viewFromHash, type ViewId } from './routes';
import { SignIn } from './pages/sign-in';
import { OverviewPage } from './pages/overview';
import { KeysPage } from './pages/keys';
import { ModelsPage } from './pages/models';
import { UsagePage } from './pages/usage';
import { LivePage } from './pages/live';

export function App() {
  const [session, setSession] = useState<SessionState | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [view, setView] = useState<ViewId>(viewFromHash(location.hash));

  const loadSession = useCallback(() => {
    api<SessionState>('GET', 'session').then(
      (state) => {
        setCsrfToken(state.csrfToken);
        setSession(state);
        setError(undefined);
      },
      (failure: unknown) => setError(messageOf(failure)),
    );
  }, []);

  useEffect(() => {
    loadSession();
    whenSignedOut(loadSession);
    const follow = () => setView(viewFromHash(location.hash));
    addEventListener('hashchange', follow);
    return () => removeEventListener('hashchange', follow);
  }, [loadSession]);

  const signedIn = session?.signedIn === true;
  const title = VIEWS.find((candidate) => candidate.id === view)?.title ?? '';
  useEffect(() => {
    document.title = signedIn ? `${title} · ollama-bridge admin` : 'Sign in · ollama-bridge admin';
  }, [signedIn, title]);

  const signOut = async () => {
    try {
      await api('DELETE', 'session');
    } catch (failure) {
      setError(messageOf(failure));
    }
    setCsrfToken(undefined);
    loadSession();
  };

  if (session === undefined) {
    return (
      <main class="narrow">
        <h1>ollama-bridge admin</h1>
        {error === undefined ? <p role="status">Loading…</p> : <ErrorNote message={error} />}
      </main>
    );
  }
  if (!signedIn) return <SignIn session={session} onSignedIn={loadSession} />;

  return (
    <>
      <header class="top">
        <span class="brand">ollama-bridge admin</span>
        <nav aria-label="Admin pages">
          {VIEWS.map((candidate) => (
            <a href={`#/${candidate.id}`} aria-current={candidate.id === view ? 'page' : undefined}>
              {candidate.title}
            </a>
          ))}
        </nav>
        <span class="who">
          {session.keyName === undefined ? null : <span>Signed in as {session.keyName}</span>}
          <button type="button" class="secondary" onClick={() => void signOut()}>Sign out</button>
        </span>
      </header>
      <main>
        <h1>{title}</h1>
        <ErrorNote message={error} />
        {view === 'overview' && <OverviewPage />}
        {view === 'keys' && <KeysPage />}
        {view === 'models' && <ModelsPage />}
        {view === 'usage' && <UsagePage />}
        {view === 'live' && <LivePage />}
      </main>
    </>
  );
}
