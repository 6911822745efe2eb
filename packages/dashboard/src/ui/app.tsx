import { useEffect, useMemo, useState } from 'preact/hooks';
import { Api, ApiError, onUnauthorized, storeApiKey, storedApiKey } from './api.ts';
import { ApiContext } from './components.tsx';
import { hrefFor, useRoute } from './route.ts';
import { toggleTheme, useTheme } from './theme.ts';
import { Insights } from './views/insights.tsx';
import { Live } from './views/live.tsx';
import { Pipeline } from './views/pipeline.tsx';
import { Sources } from './views/sources.tsx';

const VIEWS = [
  { id: 'live', label: 'Live' },
  { id: 'insights', label: 'Insights' },
  { id: 'pipeline', label: 'Pipeline health' },
  { id: 'sources', label: 'Sources' },
] as const;

export function App() {
  const [key, setKey] = useState(storedApiKey);
  const [notice, setNotice] = useState<string | undefined>();
  const api = useMemo(() => (key === undefined ? undefined : new Api(key)), [key]);
  useEffect(
    () =>
      onUnauthorized(() => {
        storeApiKey(undefined);
        setKey(undefined);
        setNotice('The server no longer accepts this API key. Enter the current one.');
      }),
    [],
  );
  if (api === undefined) {
    return (
      <Login
        notice={notice}
        onKey={(k) => {
          storeApiKey(k);
          setNotice(undefined);
          setKey(k);
        }}
      />
    );
  }
  return (
    <ApiContext.Provider value={api}>
      <Shell
        onSignOut={() => {
          storeApiKey(undefined);
          setKey(undefined);
        }}
      />
    </ApiContext.Provider>
  );
}

function ThemeToggle() {
  const theme = useTheme();
  return (
    <button
      type="button"
      class="ghost theme-toggle"
      onClick={toggleTheme}
      aria-label={`Switch to ${theme === 'dark' ? 'light' : 'dark'} theme`}
    >
      {theme === 'dark' ? '☀︎' : '☾'}
    </button>
  );
}

function Shell({ onSignOut }: { onSignOut: () => void }) {
  const route = useRoute();
  const view = route.path[0] ?? 'live';
  return (
    <div class="shell">
      <button type="button" class="skip" onClick={() => document.getElementById('main')?.focus()}>
        Skip to content
      </button>
      <header class="topbar">
        <a class="brand" href={hrefFor(['live'])}>
          <img src="/favicon.svg" alt="" width="24" height="24" /> Tracklane
        </a>
        <nav aria-label="Views">
          <ul>
            {VIEWS.map((v) => (
              <li key={v.id}>
                <a href={hrefFor([v.id])} aria-current={view === v.id ? 'page' : undefined}>
                  {v.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="topbar-end">
          <ThemeToggle />
          <button type="button" class="ghost" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {view === 'live' && <Live params={route.params} />}
        {view === 'insights' && <Insights tab={route.path[1] ?? 'trends'} params={route.params} />}
        {view === 'pipeline' && <Pipeline sub={route.path[1]} params={route.params} />}
        {view === 'sources' && <Sources />}
        {!VIEWS.some((v) => v.id === view) && (
          <p>
            No such view. <a href={hrefFor(['live'])}>Go to Live</a>.
          </p>
        )}
      </main>
    </div>
  );
}

function Login({ notice, onKey }: { notice: string | undefined; onKey: (key: string) => void }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | undefined>(notice);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const key = value.trim();
    if (key.length === 0) {
      setError('Enter the API key.');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      // Any authenticated endpoint would do; this one is cheap and touches no event data.
      await new Api(key).get('/api/pipeline');
      onKey(key);
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401
          ? 'That API key was not accepted. Use the API key printed by `tracklane start` (or set with --api-key), not a write key.'
          : `Could not reach the server: ${(err as Error).message}`,
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="login">
      <form class="card login-card" onSubmit={submit} aria-describedby="login-help">
        <h1>
          <img src="/favicon.svg" alt="" width="28" height="28" /> Tracklane
        </h1>
        <p id="login-help" class="muted">
          Enter the API key that <code>tracklane start</code> printed. It stays in this tab only and is sent
          as a Bearer token.
        </p>
        <label for="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autoComplete="current-password"
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
          aria-invalid={error !== undefined}
        />
        {error !== undefined && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Checking…' : 'Open dashboard'}
        </button>
      </form>
      <div class="login-theme">
        <ThemeToggle />
      </div>
    </div>
  );
}
