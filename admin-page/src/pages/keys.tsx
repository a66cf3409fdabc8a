/** Client keys: the list, create (the key shown once), edit, revoke. */
import { useState } from 'preact/hooks';
import type { AdminKey, CreatedKey, KeyInput, KeyList, KeyPatch } from '../../../src/admin/api-types';
import { api, messageOf } from '../api';
import { formatCount, formatTime, formatUsd } from '../format';
import { ErrorNote, ScrollTable, StatusNote } from '../notes';
import { useApi } from '../use-api';
import { KeyForm } from './key-form';
import { NewKey } from './new-key';

export function KeysPage() {
  const { data, error, reload } = useApi<KeyList>('keys');
  const [created, setCreated] = useState<CreatedKey | undefined>(undefined);
  const [editing, setEditing] = useState<string | undefined>(undefined);
  const [confirming, setConfirming] = useState<string | undefined>(undefined);
  const [rowError, setRowError] = useState<string | undefined>(undefined);
  const [status, setStatus] = useState<string | undefined>(undefined);

  const create = async (input: KeyInput) => {
    setCreated(await api<CreatedKey>('POST', 'keys', input));
    setStatus(undefined);
    reload();
  };
  const save = async (record: AdminKey, input: KeyInput) => {
    const { name: _name, admin: _admin, ...patch } = input;
    await api<AdminKey>('PATCH', `keys/${encodeURIComponent(record.id)}`, patch satisfies KeyPatch);
    setEditing(undefined);
    setStatus(`Key ${record.name} saved.`);
    reload();
  };
  const revoke = async (record: AdminKey) => {
    setRowError(undefined);
    try {
      await api('DELETE', `keys/${encodeURIComponent(record.id)}`);
      setConfirming(undefined);
      setStatus(`Key ${record.name} revoked.`);
      reload();
    } catch (failure) {
      setRowError(messageOf(failure));
    }
  };

  const editingKey = data?.keys.find((key) => key.id === editing);
  return (
    <>
      <ErrorNote message={error} />
      <StatusNote message={status} />
      {created === undefined ? null : <NewKey created={created} onDone={() => setCreated(undefined)} />}
      {data === undefined ? null : (
        <>
          <p class="hint">
            Defaults for keys without their own: {limitText(data.defaults.requestsPerMinute, 'requests/min')},{' '}
            {limitText(data.defaults.tokensPerMinute, 'tokens/min')}, budget {data.defaults.budgetUsd === null ? 'none' : `${formatUsd(data.defaults.budgetUsd)} per ${data.defaults.budgetPeriod}`}.
          </p>
          <ErrorNote message={rowError} />
          <ScrollTable label="Keys">
            <thead>
              <tr>
                <th scope="col">Name</th><th scope="col">Id</th><th scope="col">Scopes</th><th scope="col">Models</th><th scope="col">Limits</th>
                <th scope="col">Budget</th><th scope="col">Spent this period</th><th scope="col">Created</th><th scope="col">Expires</th><th scope="col">Last used</th><th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {data.keys.map((key) => (
                <tr key={key.id} data-key-id={key.id}>
                  <th scope="row">{key.name}</th>
                  <td><code>{key.id}</code></td>
                  <td>{key.scopes.length === 0 ? 'models' : key.scopes.join(', ')}</td>
                  <td>{key.models.length === 0 ? 'all' : key.models.join(', ')}</td>
                  <td>{limitText(key.requestsPerMinute, 'req/min')}, {limitText(key.tokensPerMinute, 'tok/min')}</td>
                  <td>{key.budgetUsd === null ? 'default' : `${formatUsd(key.budgetUsd)} / ${key.budgetPeriod ?? data.defaults.budgetPeriod}`}</td>
                  <td class="number">{formatUsd(key.spentUsd)}</td>
                  <td>{formatTime(key.createdAt)}</td>
                  <td class={key.expired ? 'bad' : undefined}>{key.expired ? `expired ${formatTime(key.expiresAt)}` : formatTime(key.expiresAt)}</td>
                  <td>{formatTime(key.lastUsedAt)}</td>
                  <td class="row-actions">
                    {key.source === 'plain' || !data.editable ? (
                      <span class="hint">read-only</span>
                    ) : confirming === key.id ? (
                      <>
                        <span>Revoke for good? </span>
                        <button type="button" class="danger" onClick={() => void revoke(key)}>Yes, revoke {key.name}</button>
                        <button type="button" class="secondary" onClick={() => setConfirming(undefined)}>Keep</button>
                      </>
                    ) : (
                      <>
                        <button type="button" class="secondary" onClick={() => { setEditing(key.id); setStatus(undefined); }} aria-label={`Edit ${key.name}`}>Edit</button>
                        <button type="button" class="secondary" onClick={() => { setConfirming(key.id); setRowError(undefined); }} aria-label={`Revoke ${key.name}`}>Revoke</button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </ScrollTable>
          {editingKey === undefined ? null : (
            <section class="panel" aria-labelledby="edit-key-title">
              <h2 id="edit-key-title">Edit {editingKey.name}</h2>
              <KeyForm key={editingKey.id} idPrefix="edit-key" record={editingKey} submitLabel="Save" onSubmit={(input) => save(editingKey, input)} onCancel={() => setEditing(undefined)} />
            </section>
          )}
          {data.editable ? (
            <section class="panel" aria-labelledby="create-key-title">
              <h2 id="create-key-title">Create a key</h2>
              <KeyForm idPrefix="new-key" submitLabel="Create key" onSubmit={create} />
            </section>
          ) : (
            <p class="hint">Keys can be created and edited here when the gateway runs with <code>--keys-file</code>.</p>
          )}
        </>
      )}
    </>
  );
}

function limitText(value: number | null, unit: string): string {
  return value === null ? `default ${unit}` : `${formatCount(value)} ${unit}`;
}
