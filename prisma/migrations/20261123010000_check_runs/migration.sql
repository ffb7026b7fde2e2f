-- CreateTable
CREATE TABLE "CheckRun" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "deployId" TEXT NOT NULL,
    "trigger" TEXT NOT NULL,
    "ok" BOOLEAN NOT NULL,
    "checks" TEXT NOT NULL,
    "hosts" TEXT NOT NULL,
    "wrongHosts" TEXT NOT NULL,
    "targets" TEXT,
    "summary" TEXT NOT NULL,
    "at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "CheckRun_deployId_fkey" FOREIGN KEY ("deployId") REFERENCES "Deploy" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "CheckRun_deployId_id_idx" ON "CheckRun"("deployId", "id");
