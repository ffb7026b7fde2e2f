-- CreateTable
CREATE TABLE "Deploy" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "environment" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "services" TEXT NOT NULL,
    "label" TEXT NOT NULL,
    "bundleKey" TEXT NOT NULL,
    "bundleBucket" TEXT NOT NULL,
    "bundleSha256" TEXT,
    "bundleSize" INTEGER,
    "manifest" TEXT,
    "script" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "error" TEXT,
    "commandId" TEXT,
    "attempt" INTEGER NOT NULL DEFAULT 1,
    "revertsDeployId" TEXT,
    "liveCursor" TEXT,
    "reviewScript" BOOLEAN NOT NULL DEFAULT false,
    "createdBy" TEXT NOT NULL,
    "gitSha" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" DATETIME
);

-- CreateTable
CREATE TABLE "HostRun" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "deployId" TEXT NOT NULL,
    "attempt" INTEGER NOT NULL,
    "commandId" TEXT,
    "instanceId" TEXT NOT NULL,
    "hostName" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "statusDetails" TEXT,
    "responseCode" INTEGER,
    "stdout" TEXT NOT NULL DEFAULT '',
    "stderr" TEXT NOT NULL DEFAULT '',
    "stdoutTruncated" BOOLEAN NOT NULL DEFAULT false,
    "stderrTruncated" BOOLEAN NOT NULL DEFAULT false,
    "startedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" DATETIME,
    CONSTRAINT "HostRun_deployId_fkey" FOREIGN KEY ("deployId") REFERENCES "Deploy" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "OutputChunk" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "hostRunId" TEXT NOT NULL,
    "stream" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "OutputChunk_hostRunId_fkey" FOREIGN KEY ("hostRunId") REFERENCES "HostRun" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "DeployEvent" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "deployId" TEXT NOT NULL,
    "phase" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "bytes" INTEGER,
    "total" INTEGER,
    "at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "DeployEvent_deployId_fkey" FOREIGN KEY ("deployId") REFERENCES "Deploy" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "HostRun_deployId_idx" ON "HostRun"("deployId");

-- CreateIndex
CREATE INDEX "HostRun_instanceId_idx" ON "HostRun"("instanceId");

-- CreateIndex
CREATE INDEX "OutputChunk_hostRunId_id_idx" ON "OutputChunk"("hostRunId", "id");

-- CreateIndex
CREATE INDEX "DeployEvent_deployId_id_idx" ON "DeployEvent"("deployId", "id");
