#!/usr/bin/env bash
# Debian's chromium for the Playwright browser tests (Playwright drives it through
# executable_path; it never downloads a browser of its own).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian chromium for the browser tests"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "chromium is not installed and cannot be installed here: browser tests will be skipped" >&2
fi
