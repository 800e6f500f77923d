#!/usr/bin/env bash
# Starts the local services the PostgreSQL tests use, where this machine has them
# installed. A machine without them still runs the suite: those tests skip and say why.
set -uo pipefail
pg_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
if ! pg_up && command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  for v in /etc/postgresql/*; do
    pg_ctlcluster --skip-systemctl-redirect "$(basename "$v")" main start 2>/dev/null || true
  done
fi
if pg_up; then echo "PostgreSQL: reachable on 127.0.0.1:5432"; else echo "PostgreSQL: not available, its tests will skip"; fi
exit 0
