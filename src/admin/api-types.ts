/**
 * The admin page's JSON API (`/admin/api/*`): the shapes the server sends and the page reads.
 * Types only, so the page (admin-page/, built by Vite) imports them without pulling in server code.
 *
 * Every route but `GET|POST /admin/api/session` needs a signed-in session (cookie) or an admin
 * key as a bearer token (`Authorization: Bearer obk_…`): no credential → 401, a key without the
 * admin scope → 403. A state-changing call (POST, PUT, PATCH, DELETE) made with the session
 * cookie must carry the session's CSRF token in the `X-CSRF-Token` header (else 403); bearer
 * calls carry no ambient credential and need none. Errors: `{"error": "message"}` with the status.
 *
 *   GET    /admin/api/session               → SessionState (never 401)
 *   POST   /admin/api/session   SignInRequest → SignedIn + Set-Cookie; 401 unknown key, 403 not admin, 429 too many failures
 *   DELETE /admin/api/session               → 204, cookie cleared
 *   GET    /admin/api/overview              → Overview
 *   GET    /admin/api/keys                  → KeyList
 *   POST   /admin/api/keys      KeyInput    → CreatedKey (201)
 *   PATCH  /admin/api/keys/:id  KeyPatch    → AdminKey
 *   DELETE /admin/api/keys/:id              → 204 (revoked: removed from the keys file)
 *   GET    /admin/api/models                → ModelList
 *   POST   /admin/api/models-filter/preview FilterText → FilterPreview
 *   PUT    /admin/api/models-filter         FilterText → FilterPreview (what changed; the file is written and reloaded)
 *   GET    /admin/api/usage?since=YYYY-MM-DD&until=YYYY-MM-DD&by=day,key|model → UsageReport
 *   GET    /admin/api/usage.csv?…same…      → text/csv, the same rows as `ollama-bridge usage --csv`
 *   GET    /admin/api/live                  → text/event-stream: `event: request` / `data: LiveRequest` (the recent ones first)
 *   GET    /admin/api/recent                → { requests: LiveRequest[] } newest first
 */

export interface ApiError {
  error: string;
}

export interface SessionState {
  signedIn: boolean;
  /** False when no key has the admin scope: the page then only says how to create one. */
  adminKeysConfigured: boolean;
  /** The signed-in key's name and id. */
  keyName?: string;
  keyId?: string;
  /** For the `X-CSRF-Token` header of state-changing calls. */
  csrfToken?: string;
  /** When the session ends (ISO date-time). */
  expiresAt?: string;
}

export interface SignInRequest {
  key: string;
}

export interface SignedIn {
  keyName: string;
  keyId: string;
  csrfToken: string;
  expiresAt: string;
}

export interface Totals {
  requests: number;
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  cachedTokens: number;
  costUsd: number;
}

export interface BackendState {
  name: string;
  /** As `/health/ready` says it. */
  state: string;
  models: number;
  catalogAgeSeconds: number | null;
  lastError: string | null;
}

export interface Overview {
  version: string;
  /** `/health/ready`'s status and reason. */
  status: 'ready' | 'not_ready';
  reason?: string;
  backends: BackendState[];
  usageLedger: { state: 'off' | 'writable' | 'not_writable'; reason?: string };
  modelsServed: number;
  today: Totals;
  thisMonth: Totals;
  activeStreams: number;
  /** Seconds since the gateway started. */
  uptimeSeconds: number;
}

export type BudgetPeriodName = 'day' | 'week' | 'month' | 'total';

export interface AdminKey {
  id: string;
  name: string;
  scopes: string[];
  /** Model entries (ids, short names, globs, `!` exclusions); empty = every served model. */
  models: string[];
  requestsPerMinute: number | null;
  tokensPerMinute: number | null;
  budgetUsd: number | null;
  budgetPeriod: BudgetPeriodName | null;
  /** USD spent in the key's current budget period (its own period, else the default's, else this month). */
  spentUsd: number;
  createdAt: string;
  expiresAt: string | null;
  expired: boolean;
  /** The last request made with it (ISO date-time), null when none is known. */
  lastUsedAt: string | null;
  /** `file`: in the keys file (editable); `plain`: from --api-keys or generated at start (read-only). */
  source: 'file' | 'plain';
}

export interface KeyList {
  keys: AdminKey[];
  /** False when no keys file is configured (`--keys-file`): keys cannot be created or edited here. */
  editable: boolean;
  /** The default limits and budget that apply to keys without their own. */
  defaults: { requestsPerMinute: number | null; tokensPerMinute: number | null; budgetUsd: number | null; budgetPeriod: BudgetPeriodName };
}

export interface KeyInput {
  name: string;
  models?: string[];
  admin?: boolean;
  requestsPerMinute?: number | null;
  tokensPerMinute?: number | null;
  budgetUsd?: number | null;
  budgetPeriod?: BudgetPeriodName | null;
  /** ISO date-time; null or absent: never. */
  expiresAt?: string | null;
}

/** Fields to change; null clears one (back to the default). The name, scopes and secret stay unless given. */
export type KeyPatch = Partial<KeyInput>;

export interface CreatedKey {
  /** The key itself: shown once, never stored or logged. */
  key: string;
  record: AdminKey;
}

export interface AdminModel {
  /** As clients list it (`openai/gpt-4o:latest`, or an alias). */
  name: string;
  backend: string;
  contextLength: number | null;
  capabilities: string[];
  /** USD per million tokens (the models config's price, else the backend's); null when unknown. */
  promptPricePerMillion: number | null;
  completionPricePerMillion: number | null;
  /** Whether the models filter lets it through (always true without a filter). */
  served: boolean;
  /** The filter line that decided (`12: anthropic/*`), null when none did. */
  filterLine: string | null;
  /** Names of the keys that may use it (every key when the key has no model list). */
  keys: string[];
  alias?: string;
}

export interface ModelList {
  models: AdminModel[];
  filter: {
    /** The filter file, when one is configured (`--models-filter`). */
    path: string | null;
    text: string;
    /** False without a filter file: the filter cannot be edited here. */
    editable: boolean;
  };
}

export interface FilterText {
  text: string;
}

export interface FilterPreview {
  /** Models served after the change that were not before, and the reverse. */
  added: string[];
  removed: string[];
  /** How many models are served after the change. */
  served: number;
  /** Lines that could not be understood (they are skipped). */
  problems: string[];
}

export interface UsageRow extends Totals {
  day?: string;
  key?: string | null;
  model?: string;
}

export interface UsageReport {
  since: string;
  until: string;
  by: string[];
  rows: UsageRow[];
  total: Totals;
}

/** One answered request as the Live view shows it: never its prompt or answer. */
export interface LiveRequest {
  /** ISO date-time of its arrival. */
  at: string;
  method: string;
  route: string;
  model: string | null;
  modelServed: string | null;
  keyName: string | null;
  status: number;
  outcome: 'completed' | 'failed' | 'aborted';
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  timeToFirstTokenMs: number | null;
  durationMs: number;
}
