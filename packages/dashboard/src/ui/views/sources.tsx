import { useState } from 'preact/hooks';
import { ApiError } from '../api.ts';
import { Card, ErrorNote, Field, Loading, useApi, useQuery } from '../components.tsx';
import { formatNumber } from '../time.ts';

interface SourceSummary {
  id: string;
  name: string;
  keyPreview: string;
  createdAt: string | null;
  revocable: boolean;
  events24h: number;
  lastEventAt: string | null;
}

function CopyButton({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      class="ghost small"
      aria-label={label}
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
          setCopied(true);
          setTimeout(() => setCopied(false), 1500);
        } catch {
          // Clipboard refused (plain http on a remote host): the text is selectable on screen.
        }
      }}
    >
      {copied ? 'Copied' : 'Copy'}
    </button>
  );
}

function Snippet({ title, code }: { title: string; code: string }) {
  return (
    <div class="snippet">
      <div class="snippet-head">
        <h3>{title}</h3>
        <CopyButton text={code} label={`Copy ${title} snippet`} />
      </div>
      <pre>
        <code>{code}</code>
      </pre>
    </div>
  );
}

export function Sources() {
  const api = useApi();
  const [version, setVersion] = useState(0);
  const [name, setName] = useState('');
  const [created, setCreated] = useState<{ name: string; writeKey: string } | undefined>();
  const [actionError, setActionError] = useState<Error | undefined>();
  const { data, error, loading } = useQuery(`sources:${version}`, (signal) =>
    api.get<{ sources: SourceSummary[] }>('/api/sources', signal),
  );
  const origin = location.origin;
  const key = created?.writeKey ?? '<write key>';

  const create = async (e: Event) => {
    e.preventDefault();
    setActionError(undefined);
    try {
      const result = await api.post<{ name: string; writeKey: string }>('/api/sources', {
        name: name.trim(),
      });
      setCreated(result);
      setName('');
      setVersion((v) => v + 1);
    } catch (err) {
      setActionError(err as Error);
    }
  };
  const revoke = async (source: SourceSummary) => {
    if (
      !confirm(`Revoke the write key of “${source.name}”? Events sent with it will be refused from now on.`)
    )
      return;
    setActionError(undefined);
    try {
      await api.request('DELETE', `/api/sources/${encodeURIComponent(source.id)}`);
      setVersion((v) => v + 1);
    } catch (err) {
      setActionError(err instanceof ApiError ? err : (err as Error));
    }
  };

  return (
    <div class="view">
      <div class="view-head">
        <h1>Sources</h1>
        <Loading when={loading} />
      </div>
      <ErrorNote error={error ?? actionError} />
      <Card title="Write keys">
        <div class="table-wrap">
          <table data-testid="sources">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Source id</th>
                <th scope="col">Key</th>
                <th scope="col" class="num">
                  Events, 24 h
                </th>
                <th scope="col">Last event</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {data?.sources.map((s) => (
                <tr key={s.id}>
                  <td>{s.name}</td>
                  <td class="mono">{s.id}</td>
                  <td class="mono">{s.keyPreview}</td>
                  <td class="num">{formatNumber(s.events24h)}</td>
                  <td>{s.lastEventAt === null ? 'never' : new Date(s.lastEventAt).toLocaleString()}</td>
                  <td>
                    {s.revocable ? (
                      <button
                        type="button"
                        class="danger small"
                        onClick={() => revoke(s)}
                        aria-label={`Revoke ${s.name}`}
                      >
                        Revoke
                      </button>
                    ) : (
                      <span
                        class="muted"
                        title="Given with --write-key or TRACKLANE_WRITE_KEYS: remove it there"
                      >
                        from config
                      </span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <form class="toolbar" onSubmit={create} aria-label="New source">
          <Field label="New source name">
            {(id) => (
              <input
                id={id}
                value={name}
                placeholder="e.g. marketing site"
                maxLength={100}
                required
                onInput={(e) => setName(e.currentTarget.value)}
              />
            )}
          </Field>
          <button type="submit" class="primary" disabled={name.trim().length === 0}>
            Create write key
          </button>
        </form>
        {created !== undefined && (
          <div class="created" role="status">
            <p>
              Write key for <strong>{created.name}</strong>. It is shown <strong>only now</strong>: copy it
              somewhere safe.
            </p>
            <div class="key-row">
              <code data-testid="new-write-key">{created.writeKey}</code>
              <CopyButton text={created.writeKey} label="Copy the new write key" />
            </div>
          </div>
        )}
      </Card>
      <Card title="Send events">
        <p class="muted">Write keys are public by design (they ship in your pages); the API key is not.</p>
        <div class="snippets">
          <Snippet
            title="Browser (script tag)"
            code={`<!-- tracklane.js: served at /demo/tracklane.js by \`tracklane start --demo\`,
     or build it with \`npm run build -w packages/sdk-browser\` and host it yourself -->
<script src="${origin}/demo/tracklane.js"></script>
<script>
  tracklane.init({ writeKey: '${key}', host: '${origin}' });
  tracklane.track('Signed Up', { plan: 'pro' });
</script>`}
          />
          <Snippet
            title="Node.js (@tracklane/node)"
            code={`import { Tracklane } from '@tracklane/node';

const tracklane = new Tracklane({ writeKey: '${key}', host: '${origin}' });
tracklane.track({ userId: 'user-42', event: 'Order Completed', properties: { total: 42 } });
await tracklane.close(); // delivers what is queued`}
          />
          <Snippet
            title="curl"
            code={`curl -u '${key}:' ${origin}/v1/batch -H 'content-type: application/json' \\
  -d '{"batch":[{"type":"track","event":"Hello","userId":"me"}]}'`}
          />
        </div>
      </Card>
    </div>
  );
}
