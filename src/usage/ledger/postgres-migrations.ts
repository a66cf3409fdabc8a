/**
 * The PostgreSQL ledger's schema, built by versioned migrations recorded in
 * `schema_migrations`. They run in one transaction under an advisory lock, so instances that
 * start together apply each migration once (the others wait, then find it applied). Append a
 * migration to change the schema; never edit one that has shipped.
 */
import type pg from 'pg';
import { DETAIL_COLUMNS } from './detail-tables.js';

/** The advisory lock every schema change takes (migrations, partitions made or dropped): 'obridge1'. */
export const SCHEMA_LOCK = 0x6f62_7269_6467_6531n;

const POSTGRES_TYPES = { INTEGER: 'bigint', REAL: 'double precision', TEXT: 'text' } as const;

interface PostgresMigration {
  version: number;
  describe: string;
  sql: string;
}

/** Detail columns as PostgreSQL types; started_at a timestamptz, the partition key. */
function detailColumnsSql(): string {
  return DETAIL_COLUMNS.map(({ name, kind, required }) => `${name} ${name === 'started_at' ? 'timestamptz' : POSTGRES_TYPES[kind]}${required ? ' NOT NULL' : ''}`).join(', ');
}

const MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    describe: 'daily roll-ups per key × model × UTC day; request detail partitioned by UTC day',
    sql: `CREATE TABLE daily_usage (
        day date NOT NULL,
        key_id text NOT NULL,
        key_name text NOT NULL,
        model text NOT NULL,
        requests bigint NOT NULL,
        prompt_tokens bigint NOT NULL,
        completion_tokens bigint NOT NULL,
        reasoning_tokens bigint NOT NULL,
        cached_tokens bigint NOT NULL,
        cost_usd double precision NOT NULL,
        PRIMARY KEY (day, key_id, key_name, model)
      );
      CREATE TABLE request_detail (${detailColumnsSql()}) PARTITION BY RANGE (started_at);`,
  },
];

export const POSTGRES_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** The schema version a database has (0: none). */
export async function postgresSchemaVersion(client: pg.ClientBase): Promise<number> {
  const table = await client.query<{ found: string | null }>("SELECT to_regclass('schema_migrations') AS found");
  if (table.rows[0]?.found === null) return 0;
  const version = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations');
  return version.rows[0]?.version ?? 0;
}

/** Brings the schema up to POSTGRES_SCHEMA_VERSION; returns the version found (higher: a newer gateway wrote it). */
export async function migratePostgres(client: pg.ClientBase): Promise<number> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK.toString()]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      describe text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const found = await postgresSchemaVersion(client);
    for (const migration of MIGRATIONS) {
      if (migration.version <= found) continue;
      await client.query(migration.sql);
      await client.query('INSERT INTO schema_migrations (version, describe) VALUES ($1, $2)', [migration.version, migration.describe]);
    }
    await client.query('COMMIT');
    return found;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
