/**
 * The models filter from the admin page: what a new text would change (against every model the
 * backends list), and saving it: the file (`--models-filter`) is replaced atomically (a
 * temporary file renamed over it, with the old file's mode) and the catalog takes the new
 * filter at once; the file watcher's reload of the same text afterwards changes nothing.
 */
import { chmodSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import type { ModelCatalog } from '../core/model-catalog.js';
import { parseModelFilter, type ModelFilter } from '../core/model-filter.js';
import { listedName } from '../core/model-names.js';
import { GatewayError } from '../errors.js';
import type { FilterPreview } from './api-types.js';

export class FilterEditor {
  constructor(
    /** The filter file; undefined without --models-filter (nothing to edit). */
    readonly path: string | undefined,
    private readonly catalog: ModelCatalog,
  ) {}

  get editable(): boolean {
    return this.path !== undefined;
  }

  /** The file's text ('' when there is none, or it cannot be read). */
  text(): string {
    if (this.path === undefined) return '';
    try {
      return readFileSync(this.path, 'utf8');
    } catch {
      return '';
    }
  }

  preview(text: string): FilterPreview {
    return this.compare(parseModelFilter(text));
  }

  save(text: string): FilterPreview {
    const path = this.path;
    if (path === undefined) throw new GatewayError('BAD_REQUEST', 'no models filter file is configured: start the gateway with --models-filter FILE to edit it here', { statusCode: 409 });
    const filter = parseModelFilter(text);
    const preview = this.compare(filter);
    let mode = 0o644;
    try {
      mode = statSync(path).mode & 0o777;
    } catch {
      // A file that went away is written anew.
    }
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, text, { mode });
    chmodSync(temporary, mode);
    renameSync(temporary, path);
    this.catalog.setFilter(filter, path);
    return preview;
  }

  private compare(next: ModelFilter): FilterPreview {
    const current = this.catalog.modelFilter;
    const before = new Set<string>();
    const after = new Set<string>();
    for (const info of this.catalog.backendModels()) {
      const name = listedName(info.id);
      if (current.allows(info.id)) before.add(name);
      if (next.allows(info.id)) after.add(name);
    }
    return {
      added: [...after].filter((name) => !before.has(name)).sort(),
      removed: [...before].filter((name) => !after.has(name)).sort(),
      served: after.size,
      problems: next.problems,
    };
  }
}
