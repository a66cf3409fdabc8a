/** The gateway at a glance: readiness, backends, models served, usage today and this month, open streams. */
import { useEffect } from 'preact/hooks';
import type { Overview, Totals } from '../../../src/admin/api-types';
import { formatCount, formatDuration, formatUsd } from '../format';
import { ErrorNote, ScrollTable } from '../notes';
import { useApi } from '../use-api';

const REFRESH_MS = 10_000;

export function OverviewPage() {
  const { data, error, reload } = useApi<Overview>('overview');
  useEffect(() => {
    const timer = window.setInterval(reload, REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [reload]);

  return (
    <section aria-labelledby="overview-state">
      <ErrorNote message={error} />
      {data === undefined ? null : (
        <>
          <h2 id="overview-state" class="visually-hidden">State</h2>
          <dl class="cards">
            <div><dt>Status</dt><dd class={data.status === 'ready' ? 'good' : 'bad'}>{data.status === 'ready' ? 'Ready' : `Not ready${data.reason === undefined ? '' : `: ${data.reason}`}`}</dd></div>
            <div><dt>Models served</dt><dd>{formatCount(data.modelsServed)}</dd></div>
            <div><dt>Active streams</dt><dd>{formatCount(data.activeStreams)}</dd></div>
            <div><dt>Usage ledger</dt><dd class={data.usageLedger.state === 'not_writable' ? 'bad' : undefined}>{ledgerText(data.usageLedger)}</dd></div>
            <div><dt>Version</dt><dd>{data.version}</dd></div>
            <div><dt>Up for</dt><dd>{formatDuration(data.uptimeSeconds)}</dd></div>
          </dl>
          <h2>Usage</h2>
          <ScrollTable label="Usage today and this month">
            <thead><tr><th scope="col">Period</th><th scope="col">Requests</th><th scope="col">Prompt tokens</th><th scope="col">Completion tokens</th><th scope="col">Cost</th></tr></thead>
            <tbody>
              <TotalsRow label="Today (UTC)" totals={data.today} />
              <TotalsRow label="This month" totals={data.thisMonth} />
            </tbody>
          </ScrollTable>
          <h2>Backends</h2>
          <ScrollTable label="Backends">
            <thead><tr><th scope="col">Backend</th><th scope="col">State</th><th scope="col">Models</th><th scope="col">Catalog age</th><th scope="col">Last error</th></tr></thead>
            <tbody>
              {data.backends.map((backend) => (
                <tr key={backend.name}>
                  <th scope="row">{backend.name}</th>
                  <td>{backend.state}</td>
                  <td class="number">{formatCount(backend.models)}</td>
                  <td>{backend.catalogAgeSeconds === null ? '—' : formatDuration(backend.catalogAgeSeconds)}</td>
                  <td>{backend.lastError ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </ScrollTable>
        </>
      )}
    </section>
  );
}

function TotalsRow({ label, totals }: { label: string; totals: Totals }) {
  return (
    <tr>
      <th scope="row">{label}</th>
      <td class="number">{formatCount(totals.requests)}</td>
      <td class="number">{formatCount(totals.promptTokens)}</td>
      <td class="number">{formatCount(totals.completionTokens)}</td>
      <td class="number">{formatUsd(totals.costUsd)}</td>
    </tr>
  );
}

function ledgerText(ledger: Overview['usageLedger']): string {
  if (ledger.state === 'off') return 'Off';
  if (ledger.state === 'writable') return 'Recording';
  return `Not writable${ledger.reason === undefined ? '' : `: ${ledger.reason}`}`;
}
