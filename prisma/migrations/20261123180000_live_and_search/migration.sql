-- History that scales (issue 11): what is live kept as its own small table, every successful host run per
-- service kept narrow for rollback targets, list indexes that also order by id (keyset pages), and
-- full-text search over host output. Triggers on HostRun keep all of it in step with every writer, in
-- the same statement that writes the host run.

-- One row per successful host run per service its deploy carried (narrow: no output).
CREATE TABLE "ServiceSuccess" (
    "hostRunId" TEXT NOT NULL,
    "service" TEXT NOT NULL,
    "environment" TEXT NOT NULL,
    "instanceId" TEXT NOT NULL,
    "deployId" TEXT NOT NULL,
    "bundleKey" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "at" DATETIME NOT NULL,
    "startedAt" DATETIME NOT NULL,
    PRIMARY KEY ("hostRunId", "service")
);
CREATE INDEX "ServiceSuccess_environment_service_at_idx" ON "ServiceSuccess"("environment", "service", "at");
CREATE INDEX "ServiceSuccess_environment_instanceId_service_at_idx" ON "ServiceSuccess"("environment", "instanceId", "service", "at");

-- What each host runs for each service: the newest successful run (by finish, then start).
CREATE TABLE "LiveService" (
    "environment" TEXT NOT NULL,
    "instanceId" TEXT NOT NULL,
    "service" TEXT NOT NULL,
    "hostRunId" TEXT NOT NULL,
    "deployId" TEXT NOT NULL,
    "bundleKey" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "at" DATETIME NOT NULL,
    "startedAt" DATETIME NOT NULL,
    PRIMARY KEY ("environment", "instanceId", "service")
);
CREATE INDEX "LiveService_hostRunId_idx" ON "LiveService"("hostRunId");

-- Backfill from the history already recorded.
INSERT INTO "ServiceSuccess" ("hostRunId", "service", "environment", "instanceId", "deployId", "bundleKey", "kind", "at", "startedAt")
SELECT h."id", s."value", d."environment", h."instanceId", d."id", d."bundleKey", d."kind", COALESCE(h."finishedAt", h."startedAt"), h."startedAt"
FROM "HostRun" h JOIN "Deploy" d ON d."id" = h."deployId",
     json_each(CASE WHEN json_valid(d."services") THEN d."services" ELSE '[]' END) s
WHERE h."status" = 'Success' AND s."type" = 'text';

INSERT INTO "LiveService" ("environment", "instanceId", "service", "hostRunId", "deployId", "bundleKey", "kind", "at", "startedAt")
SELECT "environment", "instanceId", "service", "hostRunId", "deployId", "bundleKey", "kind", "at", "startedAt" FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY "environment", "instanceId", "service" ORDER BY "at" DESC, "startedAt" DESC) AS "n" FROM "ServiceSuccess"
) WHERE "n" = 1;

-- A host run that is (or becomes) Success: record it, and make it live where it is the newest.
CREATE TRIGGER "HostRun_success_insert" AFTER INSERT ON "HostRun" WHEN NEW."status" = 'Success'
BEGIN
  INSERT INTO "ServiceSuccess" ("hostRunId", "service", "environment", "instanceId", "deployId", "bundleKey", "kind", "at", "startedAt")
  SELECT NEW."id", s."value", d."environment", NEW."instanceId", d."id", d."bundleKey", d."kind", COALESCE(NEW."finishedAt", NEW."startedAt"), NEW."startedAt"
  FROM "Deploy" d, json_each(CASE WHEN json_valid(d."services") THEN d."services" ELSE '[]' END) s
  WHERE d."id" = NEW."deployId" AND s."type" = 'text'
  ON CONFLICT ("hostRunId", "service") DO UPDATE SET "at" = excluded."at", "startedAt" = excluded."startedAt";
  INSERT INTO "LiveService" ("environment", "instanceId", "service", "hostRunId", "deployId", "bundleKey", "kind", "at", "startedAt")
  SELECT "environment", "instanceId", "service", "hostRunId", "deployId", "bundleKey", "kind", "at", "startedAt" FROM "ServiceSuccess" WHERE "hostRunId" = NEW."id"
  ON CONFLICT ("environment", "instanceId", "service") DO UPDATE SET
    "hostRunId" = excluded."hostRunId", "deployId" = excluded."deployId", "bundleKey" = excluded."bundleKey", "kind" = excluded."kind", "at" = excluded."at", "startedAt" = excluded."startedAt"
  WHERE excluded."at" > "LiveService"."at" OR (excluded."at" = "LiveService"."at" AND excluded."startedAt" >= "LiveService"."startedAt");
END;

CREATE TRIGGER "HostRun_success_update" AFTER UPDATE OF "status", "finishedAt" ON "HostRun" WHEN NEW."status" = 'Success'
BEGIN
  INSERT INTO "ServiceSuccess" ("hostRunId", "service", "environment", "instanceId", "deployId", "bundleKey", "kind", "at", "startedAt")
  SELECT NEW."id", s."value", d."environment", NEW."instanceId", d."id", d."bundleKey", d."kind", COALESCE(NEW."finishedAt", NEW."startedAt"), NEW."startedAt"
  FROM "Deploy" d, json_each(CASE WHEN json_valid(d."services") THEN d."services" ELSE '[]' END) s
  WHERE d."id" = NEW."deployId" AND s."type" = 'text'
  ON CONFLICT ("hostRunId", "service") DO UPDATE SET "at" = excluded."at", "startedAt" = excluded."startedAt";
  INSERT INTO "LiveService" ("environment", "instanceId", "service", "hostRunId", "deployId", "bundleKey", "kind", "at", "startedAt")
  SELECT "environment", "instanceId", "service", "hostRunId", "deployId", "bundleKey", "kind", "at", "startedAt" FROM "ServiceSuccess" WHERE "hostRunId" = NEW."id"
  ON CONFLICT ("environment", "instanceId", "service") DO UPDATE SET
    "hostRunId" = excluded."hostRunId", "deployId" = excluded."deployId", "bundleKey" = excluded."bundleKey", "kind" = excluded."kind", "at" = excluded."at", "startedAt" = excluded."startedAt"
  WHERE excluded."at" > "LiveService"."at" OR (excluded."at" = "LiveService"."at" AND excluded."startedAt" >= "LiveService"."startedAt");
END;

-- A host run removed (its deploy deleted): forget it, and put back what was live before it.
CREATE TRIGGER "HostRun_success_delete" AFTER DELETE ON "HostRun" WHEN OLD."status" = 'Success'
BEGIN
  DELETE FROM "ServiceSuccess" WHERE "hostRunId" = OLD."id";
  DELETE FROM "LiveService" WHERE "hostRunId" = OLD."id" AND NOT EXISTS (
    SELECT 1 FROM "ServiceSuccess" x WHERE x."environment" = "LiveService"."environment" AND x."instanceId" = "LiveService"."instanceId" AND x."service" = "LiveService"."service");
  UPDATE "LiveService" SET ("hostRunId", "deployId", "bundleKey", "kind", "at", "startedAt") = (
    SELECT x."hostRunId", x."deployId", x."bundleKey", x."kind", x."at", x."startedAt" FROM "ServiceSuccess" x
    WHERE x."environment" = "LiveService"."environment" AND x."instanceId" = "LiveService"."instanceId" AND x."service" = "LiveService"."service"
    ORDER BY x."at" DESC, x."startedAt" DESC LIMIT 1)
  WHERE "hostRunId" = OLD."id";
END;

-- The dashboard's last run per host and environment: an environment's hosts may be shared with a much busier
-- one (the sandbox's production), so walking a host's runs until one is of the environment is O(history).
CREATE TABLE "HostLastRun" (
    "environment" TEXT NOT NULL,
    "instanceId" TEXT NOT NULL,
    "hostRunId" TEXT NOT NULL,
    "startedAt" DATETIME NOT NULL,
    PRIMARY KEY ("environment", "instanceId")
);
CREATE INDEX "HostLastRun_hostRunId_idx" ON "HostLastRun"("hostRunId");
INSERT INTO "HostLastRun" ("environment", "instanceId", "hostRunId", "startedAt")
SELECT "environment", "instanceId", "id", "startedAt" FROM (
  SELECT d."environment", h."instanceId", h."id", h."startedAt", ROW_NUMBER() OVER (PARTITION BY d."environment", h."instanceId" ORDER BY h."startedAt" DESC, h."rowid" DESC) AS "n"
  FROM "HostRun" h JOIN "Deploy" d ON d."id" = h."deployId"
) WHERE "n" = 1;
CREATE TRIGGER "HostRun_last_insert" AFTER INSERT ON "HostRun"
BEGIN
  INSERT INTO "HostLastRun" ("environment", "instanceId", "hostRunId", "startedAt")
  SELECT d."environment", NEW."instanceId", NEW."id", NEW."startedAt" FROM "Deploy" d WHERE d."id" = NEW."deployId"
  ON CONFLICT ("environment", "instanceId") DO UPDATE SET "hostRunId" = excluded."hostRunId", "startedAt" = excluded."startedAt"
  WHERE excluded."startedAt" >= "HostLastRun"."startedAt";
END;
CREATE TRIGGER "HostRun_last_delete" AFTER DELETE ON "HostRun"
BEGIN
  -- The environment comes from the row being replaced: the deploy itself may already be gone (a cascade).
  INSERT OR REPLACE INTO "HostLastRun" ("environment", "instanceId", "hostRunId", "startedAt")
  SELECT l."environment", h."instanceId", h."id", h."startedAt" FROM "HostLastRun" l
  JOIN "HostRun" h ON h."instanceId" = l."instanceId" JOIN "Deploy" d ON d."id" = h."deployId" AND d."environment" = l."environment"
  WHERE l."hostRunId" = OLD."id" ORDER BY h."startedAt" DESC LIMIT 1;
  DELETE FROM "HostLastRun" WHERE "hostRunId" = OLD."id";
END;

-- Lists order by (createdAt, id) so a page boundary is exact (keyset pagination, never OFFSET).
DROP INDEX "Deploy_environment_createdAt_idx";
CREATE INDEX "Deploy_environment_createdAt_id_idx" ON "Deploy"("environment", "createdAt", "id");
DROP INDEX "Deploy_status_idx";
CREATE INDEX "Deploy_status_createdAt_id_idx" ON "Deploy"("status", "createdAt", "id");
CREATE INDEX "Deploy_createdAt_id_idx" ON "Deploy"("createdAt", "id");
CREATE INDEX "Deploy_createdBy_createdAt_id_idx" ON "Deploy"("createdBy", "createdAt", "id");
-- One deploy at a time per environment (the checklist and every start ask).
CREATE INDEX "Deploy_environment_status_idx" ON "Deploy"("environment", "status");
-- The bundles page: the deploys of one page of keys.
CREATE INDEX "Deploy_environment_bundleKey_idx" ON "Deploy"("environment", "bundleKey");
-- The dashboard's last run per host.
CREATE INDEX "HostRun_instanceId_startedAt_idx" ON "HostRun"("instanceId", "startedAt");

-- Full-text search over host output. The FTS index points at a stable integer id (with the deploy, so a
-- search finds deploys without reading HostRun rows) (HostRun's own rowid
-- may change on VACUUM, its key is text), through a view so FTS5 can read the text back for snippets
-- without storing a second copy of every output.
CREATE TABLE "OutputSearchRow" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "hostRunId" TEXT NOT NULL,
    "deployId" TEXT NOT NULL
);
CREATE UNIQUE INDEX "OutputSearchRow_hostRunId_key" ON "OutputSearchRow"("hostRunId");
CREATE INDEX "OutputSearchRow_deployId_idx" ON "OutputSearchRow"("deployId");
CREATE VIEW "HostRunOutputContent" AS
  SELECT r."id" AS "id", h."stdout" AS "stdout", h."stderr" AS "stderr" FROM "OutputSearchRow" r JOIN "HostRun" h ON h."id" = r."hostRunId";
CREATE VIRTUAL TABLE "HostRunOutput" USING fts5("stdout", "stderr", content='HostRunOutputContent', content_rowid='id');

INSERT INTO "OutputSearchRow" ("hostRunId", "deployId") SELECT "id", "deployId" FROM "HostRun" ORDER BY "startedAt";
INSERT INTO "HostRunOutput" ("HostRunOutput") VALUES ('rebuild');

CREATE TRIGGER "HostRun_output_insert" AFTER INSERT ON "HostRun"
BEGIN
  INSERT INTO "OutputSearchRow" ("hostRunId", "deployId") VALUES (NEW."id", NEW."deployId");
  INSERT INTO "HostRunOutput" ("rowid", "stdout", "stderr")
    SELECT "id", NEW."stdout", NEW."stderr" FROM "OutputSearchRow" WHERE "hostRunId" = NEW."id";
END;
CREATE TRIGGER "HostRun_output_update" AFTER UPDATE OF "stdout", "stderr" ON "HostRun"
BEGIN
  INSERT INTO "HostRunOutput" ("HostRunOutput", "rowid", "stdout", "stderr")
    SELECT 'delete', "id", OLD."stdout", OLD."stderr" FROM "OutputSearchRow" WHERE "hostRunId" = OLD."id";
  INSERT INTO "HostRunOutput" ("rowid", "stdout", "stderr")
    SELECT "id", NEW."stdout", NEW."stderr" FROM "OutputSearchRow" WHERE "hostRunId" = NEW."id";
END;
CREATE TRIGGER "HostRun_output_delete" AFTER DELETE ON "HostRun"
BEGIN
  INSERT INTO "HostRunOutput" ("HostRunOutput", "rowid", "stdout", "stderr")
    SELECT 'delete', "id", OLD."stdout", OLD."stderr" FROM "OutputSearchRow" WHERE "hostRunId" = OLD."id";
  DELETE FROM "OutputSearchRow" WHERE "hostRunId" = OLD."id";
END;
