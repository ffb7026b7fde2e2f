#!/usr/bin/env bash
# The one test command (README and CI): type check, unit + integration tests, build, Playwright e2e.
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1

if [ ! -x /usr/bin/chromium ] && [ -z "${PLAYWRIGHT_BROWSERS_PATH:-}" ] && [ ! -d "$HOME/.cache/ms-playwright" ]; then
  echo "== installing Debian's chromium for the browser tests"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi
fi

echo "== type check"
npx tsc --noEmit
echo "== unit and integration tests (vitest, against the local sandbox)"
npx vitest run
echo "== build"
npx next build
echo "== end-to-end journeys (Playwright, Chromium)"
npx playwright test
