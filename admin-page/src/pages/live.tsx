/** Requests as they are answered, from `/admin/api/live` (server-sent events): newest on top, never prompt or answer text. */
import { useEffect, useState } from 'preact/hooks';
import type { LiveRequest } from '../../../src/admin/api-types';
import { API_BASE, api } from '../api';
import { formatClock, formatCount, formatMs, formatUsd } from '../format';
import { ScrollTable } from '../notes';

/** Rows kept on the page. */
const MOST_ROWS = 200;

type Connection = 'connecting' | 'open' | 'retrying' | 'closed';

/** Puts a request in its place by arrival (the recent ones come first on connect, then each as it is answered). */
function insert(rows: LiveRequest[], request: LiveRequest): LiveRequest[] {
  const position = rows.findIndex((row) => row.at < request.at);
  const next = position === -1 ? [...rows, request] : [...rows.slice(0, position), request, ...rows.slice(position)];
  return next.length > MOST_ROWS ? next.slice(0, MOST_ROWS) : next;
}

const CONNECTION_TEXT: Record<Connection, string> = {
  connecting: 'Connecting…',
  open: `Connected: {rows} recent requests (up to ${MOST_ROWS}).`,
  retrying: 'Disconnected: retrying…',
  closed: 'Disconnected.',
};

export function LivePage() {
  const [rows, setRows] = useState<LiveRequest[]>([]);
  const [connection, setConnection] = useState<Connection>('connecting');
  const [paused, setPaused] = useState(false);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    if (paused) return;
    setRows([]);
    setConnection('connecting');
    const source = new EventSource(`${API_BASE}/live`);
    source.onopen = () => setConnection('open');
    source.onerror = () => {
      // EventSource reconnects by itself after a dropped connection, but not after an error answer.
      if (source.readyState !== EventSource.CLOSED) return setConnection('retrying');
      setConnection('closed');
      // A 401 here (the session ended) takes the page back to sign-in.
      api('GET', 'recent').catch(() => {});
    };
    source.addEventListener('request', (event: MessageEvent<string>) => {
      try {
        const request = JSON.parse(event.data) as LiveRequest;
        setRows((current) => insert(current, request));
      } catch {
        // A frame that is not a request is skipped.
      }
    });
    return () => source.close();
  }, [paused, attempt]);

  return (
    <>
      <div class="actions">
        <p role="status" class={connection === 'retrying' || connection === 'closed' ? 'bad' : undefined}>
          {paused ? 'Paused.' : CONNECTION_TEXT[connection].replace('{rows}', String(rows.length))}
        </p>
        {connection === 'closed' && !paused ? (
          <button type="button" class="secondary" onClick={() => setAttempt(attempt + 1)}>Reconnect</button>
        ) : (
          <button type="button" class="secondary" onClick={() => setPaused(!paused)}>{paused ? 'Resume' : 'Pause'}</button>
        )}
      </div>
      <ScrollTable label="Recent requests">
        <thead>
          <tr>
            <th scope="col">Time (UTC)</th><th scope="col">Route</th><th scope="col">Model</th><th scope="col">Key</th><th scope="col">Status</th>
            <th scope="col">Tokens (in / out)</th><th scope="col">Cost</th><th scope="col">First token</th><th scope="col">Duration</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row, index) => (
            <tr key={`${row.at} ${index}`} class={row.outcome === 'completed' ? undefined : 'bad'}>
              <td>{formatClock(row.at)}</td>
              <td><code>{row.method} {row.route}</code></td>
              <td>{row.model ?? '—'}{row.modelServed !== null && row.modelServed !== row.model ? <span class="hint"> → {row.modelServed}</span> : null}</td>
              <td>{row.keyName ?? '—'}</td>
              <td>{row.status}{row.outcome === 'completed' ? '' : ` ${row.outcome}`}</td>
              <td class="number">{formatCount(row.promptTokens)} / {formatCount(row.completionTokens)}</td>
              <td class="number">{formatUsd(row.costUsd)}</td>
              <td class="number">{formatMs(row.timeToFirstTokenMs)}</td>
              <td class="number">{formatMs(row.durationMs)}</td>
            </tr>
          ))}
        </tbody>
      </ScrollTable>
    </>
  );
}
