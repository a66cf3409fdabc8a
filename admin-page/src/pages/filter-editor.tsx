/** The models filter as text: preview what a change adds and removes, then save it (the file is written and reloaded). */
import { useState } from 'preact/hooks';
import type { FilterPreview, FilterText, ModelList } from '../../../src/admin/api-types';
import { api, messageOf } from '../api';
import { ErrorNote } from '../notes';

export function FilterEditor({ filter, onSaved }: { filter: ModelList['filter']; onSaved: () => void }) {
  const [text, setText] = useState(filter.text);
  const [preview, setPreview] = useState<{ result: FilterPreview; saved: boolean } | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const send = async (saving: boolean) => {
    setBusy(true);
    setError(undefined);
    try {
      const body: FilterText = { text };
      const result = await api<FilterPreview>(saving ? 'PUT' : 'POST', saving ? 'models-filter' : 'models-filter/preview', body);
      setPreview({ result, saved: saving });
      if (saving) onSaved();
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="panel" aria-labelledby="filter-title">
      <h2 id="filter-title">Models filter</h2>
      {filter.editable ? (
        <p class="hint">File: <code>{filter.path}</code>. One pattern per line; <code>!</code> excludes; the last matching line decides.</p>
      ) : (
        <p class="hint">The filter can be edited here when the gateway runs with <code>--models-filter</code>.</p>
      )}
      <form class="stack" onSubmit={(event) => { event.preventDefault(); void send(false); }}>
        <label for="filter-text">Filter lines</label>
        <textarea id="filter-text" rows={8} spellcheck={false} readOnly={!filter.editable} value={text} onInput={(event) => { setText(event.currentTarget.value); setPreview(undefined); }} />
        {filter.editable ? (
          <div class="actions">
            <button type="submit" class="secondary" disabled={busy}>Preview</button>
            <button type="button" disabled={busy} onClick={() => void send(true)}>Save</button>
          </div>
        ) : null}
        <ErrorNote message={error} />
      </form>
      {preview === undefined ? null : <PreviewResult preview={preview.result} saved={preview.saved} />}
    </section>
  );
}

function PreviewResult({ preview, saved }: { preview: FilterPreview; saved: boolean }) {
  return (
    <div class="preview" role="status">
      <p>{saved ? 'Saved' : 'With this filter'}: {preview.served} models served, {preview.added.length} added, {preview.removed.length} removed.</p>
      {preview.added.length === 0 ? null : <><h3>Added</h3><ul class="models-added">{preview.added.map((name) => <li>{name}</li>)}</ul></>}
      {preview.removed.length === 0 ? null : <><h3>Removed</h3><ul class="models-removed">{preview.removed.map((name) => <li>{name}</li>)}</ul></>}
      {preview.problems.length === 0 ? null : <><h3>Lines skipped</h3><ul class="problems">{preview.problems.map((line) => <li>{line}</li>)}</ul></>}
    </div>
  );
}
