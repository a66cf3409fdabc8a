/** The served catalog: each model's backend, context, capabilities, price, whether the filter serves it and why, and the keys that may use it. */
import { useState } from 'preact/hooks';
import type { AdminModel, ModelList } from '../../../src/admin/api-types';
import { formatCount, formatUsd } from '../format';
import { ErrorNote, ScrollTable } from '../notes';
import { useApi } from '../use-api';
import { FilterEditor } from './filter-editor';

export function ModelsPage() {
  const { data, error, reload } = useApi<ModelList>('models');
  const [search, setSearch] = useState('');
  const needle = search.trim().toLowerCase();
  const shown = data?.models.filter((model) => needle === '' || model.name.toLowerCase().includes(needle) || model.backend.toLowerCase().includes(needle)) ?? [];
  return (
    <>
      <ErrorNote message={error} />
      {data === undefined ? null : (
        <>
          <div class="field inline">
            <label for="model-search">Find a model</label>
            <input id="model-search" type="search" value={search} onInput={(event) => setSearch(event.currentTarget.value)} />
          </div>
          <p class="hint">{formatCount(data.models.filter((model) => model.served).length)} of {formatCount(data.models.length)} models served{shown.length === data.models.length ? '' : `; ${formatCount(shown.length)} shown`}.</p>
          <ScrollTable label="Models">
            <thead>
              <tr>
                <th scope="col">Model</th><th scope="col">Backend</th><th scope="col">Context</th><th scope="col">Capabilities</th>
                <th scope="col">Price per M tokens (in / out)</th><th scope="col">Served</th><th scope="col">Keys allowed</th>
              </tr>
            </thead>
            <tbody>{shown.map((model) => <ModelRow key={`${model.backend} ${model.name}`} model={model} />)}</tbody>
          </ScrollTable>
          <FilterEditor filter={data.filter} onSaved={reload} />
        </>
      )}
    </>
  );
}

function ModelRow({ model }: { model: AdminModel }) {
  return (
    <tr class={model.served ? undefined : 'muted'}>
      <th scope="row">{model.name}{model.alias === undefined ? null : <span class="hint"> (alias of {model.alias})</span>}</th>
      <td>{model.backend}</td>
      <td class="number">{model.contextLength === null ? '—' : formatCount(model.contextLength)}</td>
      <td>{model.capabilities.join(', ')}</td>
      <td class="number">{formatUsd(model.promptPricePerMillion)} / {formatUsd(model.completionPricePerMillion)}</td>
      <td>{model.served ? 'yes' : 'no'}{model.filterLine === null ? null : <> (<code>{model.filterLine}</code>)</>}</td>
      <td>{model.keys.length === 0 ? 'none' : model.keys.join(', ')}</td>
    </tr>
  );
}
