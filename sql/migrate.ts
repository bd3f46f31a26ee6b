import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Sql } from 'postgres';
import { errorMessage } from '../pipeline/index.js';

/**
 * Numbered plain-SQL migrations (sql/migrations/NNNN_name.sql), applied in order, each in its own
 * transaction together with its row in `schema_migrations`, under a session advisory lock so two
 * processes starting at once cannot both apply the same file. Re-running is a no-op. An applied
 * file whose checksum changed is an error: migrations are append-only.
 */

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/** Arbitrary constant shared by every `eaio migrate`; only has to differ from other advisory locks. */
const MIGRATION_LOCK_KEY = '7364921055';

export interface MigrationFile {
  readonly version: number;
  readonly name: string;
  readonly file: string;
  readonly sql: string;
  readonly checksum: string;
}

export type MigrationState = 'applied' | 'pending' | 'changed';

export interface MigrationStatus {
  readonly version: number;
  readonly name: string;
  readonly state: MigrationState;
  readonly appliedAt?: Date;
}

export class MigrationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MigrationError';
  }
}

const FILE_PATTERN = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export function loadMigrationFiles(dir: string = MIGRATIONS_DIR): MigrationFile[] {
  const files: MigrationFile[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.sql')) continue;
    const match = FILE_PATTERN.exec(file);
    if (!match) throw new MigrationError(`${file}: migration files are named NNNN_lower_snake_name.sql`);
    // Line ends normalised so a Windows checkout does not look "changed".
    const text = readFileSync(dir + file, 'utf8').replace(/\r\n/g, '\n');
    files.push({
      version: Number(match[1]),
      name: match[2] ?? file,
      file,
      sql: text,
      checksum: createHash('sha256').update(text).digest('hex'),
    });
  }
  const versions = new Set<number>();
  for (const m of files) {
    if (versions.has(m.version))
      throw new MigrationError(`two migrations are numbered ${m.version}; renumber the newer one`);
    versions.add(m.version);
  }
  return files;
}

interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
  applied_at: Date;
}

async function ensureLedger(sql: Sql): Promise<void> {
  await sql`
    CREATE TABLE IF NOT EXISTS schema_migrations (
      version    integer PRIMARY KEY,
      name       text NOT NULL,
      checksum   text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`;
}

async function readApplied(sql: Sql): Promise<Map<number, AppliedRow>> {
  const exists = await sql<{ t: string | null }[]>`SELECT to_regclass('schema_migrations')::text AS t`;
  if (!exists[0]?.t) return new Map();
  const rows = await sql<
    AppliedRow[]
  >`SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version`;
  return new Map(rows.map((r) => [r.version, r]));
}

function statusOf(files: readonly MigrationFile[], applied: Map<number, AppliedRow>): MigrationStatus[] {
  return files.map((f) => {
    const row = applied.get(f.version);
    if (!row) return { version: f.version, name: f.name, state: 'pending' };
    return {
      version: f.version,
      name: f.name,
      state: row.checksum === f.checksum ? 'applied' : 'changed',
      appliedAt: row.applied_at,
    };
  });
}

export async function migrationStatus(sql: Sql, files = loadMigrationFiles()): Promise<MigrationStatus[]> {
  return statusOf(files, await readApplied(sql));
}

export interface MigrateResult {
  readonly applied: readonly MigrationFile[];
  readonly alreadyApplied: number;
}

/** Applies every pending migration. `sql` must allow at least one connection. */
export async function migrate(
  sql: Sql,
  options: { files?: readonly MigrationFile[]; onApplied?: (m: MigrationFile, ms: number) => void } = {},
): Promise<MigrateResult> {
  const files = options.files ?? loadMigrationFiles();
  const conn = await sql.reserve();
  try {
    await conn`SELECT pg_advisory_lock(${MIGRATION_LOCK_KEY}::bigint)`;
    try {
      await ensureLedger(conn);
      const applied = await readApplied(conn);
      const changed = statusOf(files, applied).filter((s) => s.state === 'changed');
      if (changed.length > 0) {
        const list = changed.map((c) => `${String(c.version).padStart(4, '0')}_${c.name}`).join(', ');
        throw new MigrationError(
          `already-applied migration(s) were edited: ${list}. Migrations are append-only: restore the file and add a new numbered migration instead.`,
        );
      }
      const done: MigrationFile[] = [];
      for (const file of files) {
        if (applied.has(file.version)) continue;
        const started = performance.now();
        await conn`BEGIN`;
        try {
          await conn.unsafe(file.sql).simple();
          await conn`INSERT INTO schema_migrations (version, name, checksum) VALUES (${file.version}, ${file.name}, ${file.checksum})`;
          await conn`COMMIT`;
        } catch (error) {
          await conn`ROLLBACK`.catch(() => undefined);
          const detail = errorMessage(error);
          throw new MigrationError(`${file.file} failed and was rolled back: ${detail}`, { cause: error });
        }
        done.push(file);
        options.onApplied?.(file, performance.now() - started);
      }
      return { applied: done, alreadyApplied: files.length - done.length };
    } finally {
      await conn`SELECT pg_advisory_unlock(${MIGRATION_LOCK_KEY}::bigint)`.catch(() => undefined);
    }
  } finally {
    conn.release();
  }
}
