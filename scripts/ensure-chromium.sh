#!/usr/bin/env bash
# Debian's chromium for the Playwright browser tests (Playwright drives it through
# executable_path; it never downloads a browser of its own), and Noto CJK so the
# Japanese interface renders in tests and screenshots instead of empty boxes.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need+=(fonts-noto-cjk)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${need[*]} for the browser tests"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
else
  echo "cannot install ${need[*]} here: browser tests will be skipped or show Japanese as boxes" >&2
fi
