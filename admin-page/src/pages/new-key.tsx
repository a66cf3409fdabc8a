/** A key just created: shown once, with a Copy button. */
import { useState } from 'preact/hooks';
import type { CreatedKey } from '../../../src/admin/api-types';

export function NewKey({ created, onDone }: { created: CreatedKey; onDone: () => void }) {
  const [copied, setCopied] = useState<string | undefined>(undefined);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created.key);
      setCopied('Copied.');
    } catch {
      // Without clipboard access (plain HTTP on another host), select it for Ctrl+C.
      const field = document.getElementById('created-key') as HTMLInputElement | null;
      field?.select();
      setCopied('Selected: press Ctrl+C (or ⌘C) to copy.');
    }
  };
  return (
    <section class="panel new-key" aria-labelledby="created-key-title">
      <h2 id="created-key-title">Key {created.record.name} created</h2>
      <p>Copy it now: it is shown only this once (the gateway keeps only its hash).</p>
      <label for="created-key">New key</label>
      <div class="copy-row">
        <input id="created-key" readOnly value={created.key} onFocus={(event) => event.currentTarget.select()} />
        <button type="button" onClick={() => void copy()}>Copy</button>
      </div>
      <p role="status">{copied ?? ''}</p>
      <button type="button" class="secondary" onClick={onDone}>Done</button>
    </section>
  );
}
