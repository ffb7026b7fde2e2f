import { defineConfig } from "prisma/config";

// The CLI is only used for `prisma generate` here: migrations are plain SQL files applied by
// lib/history/migrate.ts at start-up (Prisma's schema engine cannot be downloaded offline).
export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "file:./data/deckhand.db" },
});
