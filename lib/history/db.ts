import path from "node:path";
import { PrismaBetterSqlite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaClient } from "../generated/prisma/client";
import { migrateDatabase } from "./migrate";

export type Db = PrismaClient;

/** Where the history lives: DECKHAND_DB, else ./data/deckhand.db. */
export function databaseFile(): string {
  return path.resolve(/*turbopackIgnore: true*/ process.env.DECKHAND_DB ?? "data/deckhand.db");
}

/** Migrates (idempotent) and opens the database through Prisma's better-sqlite3 adapter. */
export function openDatabase(file = databaseFile()): Db {
  migrateDatabase(file);
  const adapter = new PrismaBetterSqlite3({ url: file, timeout: 5000 });
  return new PrismaClient({ adapter });
}
