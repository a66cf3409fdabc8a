/**
 * The database's schema, built by migrations applied in order; the version reached is kept in
 * the database (`PRAGMA user_version`). Append a migration to change the schema; never edit
 * one that has shipped. A migration that adds a detail column alters every day's table
 * (detailDays) and the column list in detail-tables.ts.
 */
import type Database from 'better-sqlite3';

interface Migration {
  version: number;
  describe: string;
  up(database: Database.Database): void;
}

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    describe: 'daily roll-ups per key × model × UTC day (request detail lives in one table per day)',
    up(database) {
      database.exec(`CREATE TABLE daily_usage (
        day TEXT NOT NULL,
        key_id TEXT NOT NULL,
        key_name TEXT NOT NULL,
        model TEXT NOT NULL,
        requests INTEGER NOT NULL,
        prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL,
        reasoning_tokens INTEGER NOT NULL,
        cached_tokens INTEGER NOT NULL,
        cost_usd REAL NOT NULL,
        PRIMARY KEY (day, key_id, key_name, model)
      ) WITHOUT ROWID`);
    },
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export function schemaVersion(database: Database.Database): number {
  return database.pragma('user_version', { simple: true }) as number;
}

/** Brings the schema up to SCHEMA_VERSION, each migration in its own transaction. Returns the version found. */
export function migrate(database: Database.Database): number {
  const found = schemaVersion(database);
  for (const migration of MIGRATIONS) {
    if (migration.version <= found) continue;
    database.transaction(() => {
      // Another process may have applied it since (the write lock is held from here).
      if (schemaVersion(database) >= migration.version) return;
      migration.up(database);
      database.pragma(`user_version = ${migration.version}`);
    }).immediate();
  }
  return found;
}
