import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";

// Resolved from the working directory (the repo root for npm scripts, tests and the server): inside
// Next's server bundle import.meta points into .next/, not at this file.
export const MIGRATIONS_DIR = path.resolve(/*turbopackIgnore: true*/ process.env.DECKHAND_MIGRATIONS ?? "prisma/migrations");

/**
 * Applies prisma/migrations/<stamp>_<name>/migration.sql in order, once each, recording them in
 * Prisma's own `_prisma_migrations` table. Prisma's schema engine is not available offline, and a
 * local app should migrate itself on start anyway.
 */
export function migrateDatabase(file: string, migrationsDir = MIGRATIONS_DIR): string[] {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    db.pragma("journal_mode = WAL");
    db.exec(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
      "id" TEXT PRIMARY KEY NOT NULL, "checksum" TEXT NOT NULL, "finished_at" DATETIME, "migration_name" TEXT NOT NULL,
      "logs" TEXT, "rolled_back_at" DATETIME, "started_at" DATETIME NOT NULL DEFAULT current_timestamp,
      "applied_steps_count" INTEGER UNSIGNED NOT NULL DEFAULT 0)`);
    const applied = new Set(db.prepare(`SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL`).pluck().all() as string[]);
    const pending = fs
      .readdirSync(/*turbopackIgnore: true*/ migrationsDir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && !applied.has(entry.name))
      .map((entry) => entry.name)
      .sort();
    for (const name of pending) {
      const sql = fs.readFileSync(path.join(migrationsDir, name, "migration.sql"), "utf8");
      db.transaction(() => {
        db.exec(sql);
        db.prepare(`INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, applied_steps_count) VALUES (?, ?, current_timestamp, ?, 1)`)
          .run(crypto.randomUUID(), String(sql.length), name);
      })();
    }
    return pending;
  } finally {
    db.close();
  }
}
