/** `/admin/api/keys`: list (with spend and last use), create, edit and revoke keys (key-editor.ts). */
import type { FastifyInstance } from 'fastify';
import { isExpired, type KeyRecord } from '../auth/api-keys.js';
import { budgetOf, type Budget } from '../auth/budgets.js';
import type { KeyRing } from '../auth/key-ring.js';
import { parseBody } from '../http/request-errors.js';
import { DEFAULT_BUDGET_PERIOD, type BudgetPeriod } from '../usage/budget-period.js';
import type { AdminKey, CreatedKey, KeyList } from './api-types.js';
import { KeyInputSchema, KeyPatchSchema, type KeyEditor } from './key-editor.js';

/** What a key has spent in a budget period (KeySpend, or the spend shared over Redis). */
export interface SpendReader {
  spent(subject: string, period: BudgetPeriod): number | Promise<number>;
}

export interface KeyRoutesOptions {
  editor: KeyEditor;
  keyRing: KeyRing;
  keySpend: SpendReader;
  /** When each key last made a request (Unix ms); under --workers, asks every worker. */
  lastUsedByKey(): Promise<ReadonlyMap<string, number>>;
  defaults: { requestsPerMinute: number | null; tokensPerMinute: number | null; budget: Budget | undefined };
  now: () => number;
}

export function registerKeyRoutes(app: FastifyInstance, options: KeyRoutesOptions): void {
  const { editor, keyRing } = options;
  const view = async (record: KeyRecord): Promise<AdminKey> => adminKey(record, options, await options.lastUsedByKey());

  app.get('/admin/api/keys', async (): Promise<KeyList> => {
    const { defaults } = options;
    const lastUsedByKey = await options.lastUsedByKey();
    return {
      keys: await Promise.all(keyRing.keys.map((record) => adminKey(record, options, lastUsedByKey))),
      editable: editor.editable,
      defaults: {
        requestsPerMinute: defaults.requestsPerMinute,
        tokensPerMinute: defaults.tokensPerMinute,
        budgetUsd: defaults.budget?.usd ?? null,
        budgetPeriod: defaults.budget?.period ?? DEFAULT_BUDGET_PERIOD,
      },
    };
  });

  app.post('/admin/api/keys', async (request, reply): Promise<CreatedKey> => {
    const { key, record } = editor.create(parseBody(KeyInputSchema, request.body));
    request.log.info({ createdKeyId: record.id }, 'admin: key created');
    void reply.code(201).header('cache-control', 'no-store');
    return { key, record: await view(record) };
  });

  app.patch<{ Params: { id: string } }>('/admin/api/keys/:id', async (request): Promise<AdminKey> => {
    const record = editor.update(request.params.id, parseBody(KeyPatchSchema, request.body));
    request.log.info({ editedKeyId: record.id }, 'admin: key edited');
    return view(record);
  });

  app.delete<{ Params: { id: string } }>('/admin/api/keys/:id', async (request, reply) => {
    const record = editor.revoke(request.params.id);
    request.log.info({ revokedKeyId: record.id }, 'admin: key revoked');
    return reply.code(204).send();
  });
}

async function adminKey(record: KeyRecord, options: KeyRoutesOptions, lastUsedByKey: ReadonlyMap<string, number>): Promise<AdminKey> {
  const budget = budgetOf(record, options.defaults.budget);
  const lastUsed = lastUsedByKey.get(record.id);
  return {
    id: record.id,
    name: record.name,
    scopes: record.scopes ?? [],
    models: record.models ?? [],
    requestsPerMinute: record.requestsPerMinute ?? null,
    tokensPerMinute: record.tokensPerMinute ?? null,
    budgetUsd: record.budgetUsd ?? null,
    budgetPeriod: record.budgetUsd === undefined ? null : (record.budgetPeriod ?? DEFAULT_BUDGET_PERIOD),
    spentUsd: await options.keySpend.spent(record.id, budget?.period ?? DEFAULT_BUDGET_PERIOD),
    createdAt: record.createdAt,
    expiresAt: record.expiresAt ?? null,
    expired: isExpired(record, new Date(options.now())),
    lastUsedAt: lastUsed === undefined ? null : new Date(lastUsed).toISOString(),
    source: options.keyRing.isPlain(record) ? 'plain' : 'file',
  };
}
