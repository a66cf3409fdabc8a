/** Usage over a range of UTC days, by key or model: charts of cost and tokens per day, a totals table, CSV export. */
import { useMemo, useState } from 'preact/hooks';
import type { UsageReport } from '../../../src/admin/api-types';
import { API_BASE } from '../api';
import { formatCount, formatUsd, utcDay } from '../format';
import { ErrorNote, ScrollTable } from '../notes';
import { useApi } from '../use-api';
import { daysBetween, seriesPerDay, totalsByGroup, type GroupBy } from '../usage-groups';
import { UsageChart } from './usage-chart';

interface Query {
  since: string;
  until: string;
  by: GroupBy;
}

function queryString(query: Query): string {
  return new URLSearchParams({ since: query.since, until: query.until, by: `day,${query.by}` }).toString();
}

export function UsagePage() {
  const today = new Date();
  const [draft, setDraft] = useState<Query>({ since: `${utcDay(today).slice(0, 8)}01`, until: utcDay(today), by: 'key' });
  const [query, setQuery] = useState<Query>(draft);
  const [formError, setFormError] = useState<string | undefined>(undefined);
  const { data, error } = useApi<UsageReport>(`usage?${queryString(query)}`);

  const apply = (event: Event) => {
    event.preventDefault();
    if (draft.since === '' || draft.until === '' || draft.since > draft.until) {
      setFormError('Choose a first day on or before the last day.');
      return;
    }
    setFormError(undefined);
    setQuery(draft);
  };

  return (
    <>
      <form class="filters" onSubmit={apply}>
        <div class="field"><label for="usage-since">From (UTC day)</label><input id="usage-since" type="date" value={draft.since} onInput={(event) => setDraft({ ...draft, since: event.currentTarget.value })} /></div>
        <div class="field"><label for="usage-until">To (UTC day)</label><input id="usage-until" type="date" value={draft.until} onInput={(event) => setDraft({ ...draft, until: event.currentTarget.value })} /></div>
        <div class="field">
          <label for="usage-by">Group by</label>
          <select id="usage-by" value={draft.by} onChange={(event) => setDraft({ ...draft, by: event.currentTarget.value as GroupBy })}>
            <option value="key">key</option>
            <option value="model">model</option>
          </select>
        </div>
        <div class="actions"><button type="submit">Show</button></div>
      </form>
      <ErrorNote message={formError ?? error} />
      {data === undefined ? null : <UsageResult report={data} />}
    </>
  );
}

/** The report as it came (while the next one loads, it still shows this one, grouped as asked then). */
function UsageResult({ report }: { report: UsageReport }) {
  const query: Query = { since: report.since, until: report.until, by: report.by.includes('model') ? 'model' : 'key' };
  const days = useMemo(() => daysBetween(report.since, report.until), [report]);
  const cost = useMemo(() => seriesPerDay(report, query.by, days, (row) => row.costUsd), [report, query.by, days]);
  const tokens = useMemo(() => seriesPerDay(report, query.by, days, (row) => row.promptTokens + row.completionTokens), [report, query.by, days]);
  const groups = totalsByGroup(report, query.by);
  return (
    <>
      <p>
        <a href={`${API_BASE}/usage.csv?${queryString(query)}`} download={`usage-${report.since}-${report.until}.csv`}>Download CSV</a>
        {' '}(one row per day and {query.by}, as <code>ollama-bridge usage --csv</code>).
      </p>
      {report.rows.length === 0 ? (
        <p>No requests recorded from {report.since} to {report.until}.</p>
      ) : (
        <div class="charts">
          <UsageChart title="Cost per day (USD)" days={days} series={cost} format={formatUsd} />
          <UsageChart title="Tokens per day (prompt + completion)" days={days} series={tokens} format={formatCount} />
        </div>
      )}
      <ScrollTable label={`Usage by ${query.by}`}>
        <thead>
          <tr><th scope="col">{query.by === 'key' ? 'Key' : 'Model'}</th><th scope="col">Requests</th><th scope="col">Prompt tokens</th><th scope="col">Completion tokens</th><th scope="col">Reasoning tokens</th><th scope="col">Cost</th></tr>
        </thead>
        <tbody>
          {groups.map(({ name, totals }) => (
            <tr key={name} data-group={name}>
              <th scope="row">{name}</th>
              <td class="number">{formatCount(totals.requests)}</td>
              <td class="number">{formatCount(totals.promptTokens)}</td>
              <td class="number">{formatCount(totals.completionTokens)}</td>
              <td class="number">{formatCount(totals.reasoningTokens)}</td>
              <td class="number">{formatUsd(totals.costUsd)}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr>
            <th scope="row">Total</th>
            <td class="number">{formatCount(report.total.requests)}</td>
            <td class="number">{formatCount(report.total.promptTokens)}</td>
            <td class="number">{formatCount(report.total.completionTokens)}</td>
            <td class="number">{formatCount(report.total.reasoningTokens)}</td>
            <td class="number">{formatUsd(report.total.costUsd)}</td>
          </tr>
        </tfoot>
      </ScrollTable>
    </>
  );
}
