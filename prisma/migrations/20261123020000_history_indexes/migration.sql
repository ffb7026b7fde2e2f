-- Indexes for every list: history by environment and date, the active-deploy check, bundles by key,
-- and what is live per host (successful runs by host).
CREATE INDEX "Deploy_environment_createdAt_idx" ON "Deploy"("environment", "createdAt");
CREATE INDEX "Deploy_status_idx" ON "Deploy"("status");
CREATE INDEX "Deploy_bundleKey_idx" ON "Deploy"("bundleKey");
CREATE INDEX "HostRun_status_instanceId_idx" ON "HostRun"("status", "instanceId");
