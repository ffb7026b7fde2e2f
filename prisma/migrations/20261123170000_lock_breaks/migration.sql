-- Expired bucket locks broken from the dashboard (lib/lock/bucket-lock.ts).
CREATE TABLE "LockBreak" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "environment" TEXT NOT NULL,
    "deployId" TEXT NOT NULL,
    "owner" TEXT NOT NULL,
    "identity" TEXT NOT NULL,
    "takenAt" TEXT NOT NULL,
    "expiresAt" TEXT NOT NULL,
    "brokenBy" TEXT NOT NULL,
    "brokenAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateIndex
CREATE INDEX "LockBreak_environment_id_idx" ON "LockBreak"("environment", "id");
