/** The fields of a key that the page sets: on create (with name and admin) and on edit. */
import { useState } from 'preact/hooks';
import type { AdminKey, BudgetPeriodName, KeyInput } from '../../../src/admin/api-types';
import { ErrorNote } from '../notes';

const PERIODS: BudgetPeriodName[] = ['day', 'week', 'month', 'total'];

interface Fields {
  name: string;
  admin: boolean;
  models: string;
  requestsPerMinute: string;
  tokensPerMinute: string;
  budgetUsd: string;
  budgetPeriod: string;
  expires: string;
}

function fieldsOf(key: AdminKey | undefined): Fields {
  return {
    name: key?.name ?? '',
    admin: key?.scopes.includes('admin') ?? false,
    models: key?.models.join('\n') ?? '',
    requestsPerMinute: key?.requestsPerMinute?.toString() ?? '',
    tokensPerMinute: key?.tokensPerMinute?.toString() ?? '',
    budgetUsd: key?.budgetUsd?.toString() ?? '',
    budgetPeriod: key?.budgetPeriod ?? '',
    expires: key?.expiresAt?.slice(0, 10) ?? '',
  };
}

/**
 * What the form says, as the API takes it; throws a message the form shows when a field is not
 * a number. Editing, only the fields changed are sent (an expiry at 15:30 stays 15:30 unless the
 * day is changed).
 */
function inputOf(fields: Fields, initial: Fields | undefined): KeyInput {
  const number = (text: string, label: string): number | null => {
    if (text.trim() === '') return null;
    const value = Number(text);
    if (!Number.isFinite(value) || value < 0) throw new Error(`${label} must be a number of 0 or more (or empty for the default)`);
    return value;
  };
  const input: KeyInput = {
    name: fields.name.trim(),
    models: fields.models.split(/[\s,]+/).filter((entry) => entry !== ''),
    requestsPerMinute: number(fields.requestsPerMinute, 'Requests per minute'),
    tokensPerMinute: number(fields.tokensPerMinute, 'Tokens per minute'),
    budgetUsd: number(fields.budgetUsd, 'Budget'),
    budgetPeriod: fields.budgetPeriod === '' ? null : (fields.budgetPeriod as BudgetPeriodName),
    // A day means up to its start, in UTC (as `keys create --expires 2027-01-31`).
    expiresAt: fields.expires === '' ? null : new Date(`${fields.expires}T00:00:00Z`).toISOString(),
  };
  if (initial === undefined) {
    if (fields.admin) input.admin = true;
    return input;
  }
  const changed: KeyInput = { name: input.name };
  if (fields.models !== initial.models) changed.models = input.models;
  if (fields.requestsPerMinute !== initial.requestsPerMinute) changed.requestsPerMinute = input.requestsPerMinute;
  if (fields.tokensPerMinute !== initial.tokensPerMinute) changed.tokensPerMinute = input.tokensPerMinute;
  if (fields.budgetUsd !== initial.budgetUsd) changed.budgetUsd = input.budgetUsd;
  if (fields.budgetPeriod !== initial.budgetPeriod) changed.budgetPeriod = input.budgetPeriod;
  if (fields.expires !== initial.expires) changed.expiresAt = input.expiresAt;
  return changed;
}

export function KeyForm(props: { idPrefix: string; record?: AdminKey; submitLabel: string; onSubmit: (input: KeyInput) => Promise<void>; onCancel?: () => void }) {
  const creating = props.record === undefined;
  const [initial] = useState<Fields | undefined>(() => (props.record === undefined ? undefined : fieldsOf(props.record)));
  const [fields, setFields] = useState<Fields>(() => fieldsOf(props.record));
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const id = (name: string) => `${props.idPrefix}-${name}`;
  const set = (name: keyof Fields) => (event: Event) => {
    const target = event.currentTarget as HTMLInputElement;
    setFields({ ...fields, [name]: target.type === 'checkbox' ? target.checked : target.value });
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    setBusy(true);
    try {
      await props.onSubmit(inputOf(fields, initial));
      if (creating) setFields(fieldsOf(undefined));
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="key-form" onSubmit={(event) => void submit(event)}>
      {creating ? (
        <>
          <div class="field"><label for={id('name')}>Name</label><input id={id('name')} required value={fields.name} onInput={set('name')} /></div>
          <div class="field check"><input id={id('admin')} type="checkbox" checked={fields.admin} onChange={set('admin')} /><label for={id('admin')}>Admin (may use this page and manage models)</label></div>
        </>
      ) : null}
      <div class="field wide">
        <label for={id('models')}>Models</label>
        <textarea id={id('models')} rows={3} value={fields.models} onInput={set('models')} aria-describedby={id('models-hint')} />
        <span class="hint" id={id('models-hint')}>One per line: ids, short names, globs (<code>openai/*</code>), <code>!</code> to exclude. Empty: every served model.</span>
      </div>
      <div class="field"><label for={id('rpm')}>Requests per minute</label><input id={id('rpm')} inputMode="numeric" value={fields.requestsPerMinute} onInput={set('requestsPerMinute')} placeholder="default" /></div>
      <div class="field"><label for={id('tpm')}>Tokens per minute</label><input id={id('tpm')} inputMode="numeric" value={fields.tokensPerMinute} onInput={set('tokensPerMinute')} placeholder="default" /></div>
      <div class="field"><label for={id('budget')}>Budget (USD)</label><input id={id('budget')} inputMode="decimal" value={fields.budgetUsd} onInput={set('budgetUsd')} placeholder="default" /></div>
      <div class="field">
        <label for={id('period')}>Budget period</label>
        <select id={id('period')} value={fields.budgetPeriod} onChange={set('budgetPeriod')}>
          <option value="">default</option>
          {PERIODS.map((period) => <option value={period}>{period}</option>)}
        </select>
      </div>
      <div class="field"><label for={id('expires')}>Expires (UTC day)</label><input id={id('expires')} type="date" value={fields.expires} onInput={set('expires')} /></div>
      <div class="actions">
        <button type="submit" disabled={busy}>{props.submitLabel}</button>
        {props.onCancel === undefined ? null : <button type="button" class="secondary" onClick={props.onCancel}>Cancel</button>}
      </div>
      <ErrorNote message={error} />
    </form>
  );
}
