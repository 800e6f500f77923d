#!/usr/bin/env bash
# Starts the local services the PostgreSQL and cluster tests use, where this machine has
# them installed (or can install them: Debian's nats-server, as root). A machine without
# them still runs the suite: those tests skip and say why.
set -uo pipefail
up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pg_up() { up 5432; }
if ! pg_up && command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  for v in /etc/postgresql/*; do
    pg_ctlcluster --skip-systemctl-redirect "$(basename "$v")" main start 2>/dev/null || true
  done
fi
if pg_up; then echo "PostgreSQL: reachable on 127.0.0.1:5432"; else echo "PostgreSQL: not available, its tests will skip"; fi

# NATS with JetStream for tests/cluster (issue 13, docs/scaling.md).
if ! up 4222; then
  if ! command -v nats-server >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null 2>&1; } \
      || true
  fi
  if command -v nats-server >/dev/null 2>&1; then
    store="${TMPDIR:-/tmp}/allied-c2-nats"
    mkdir -p "$store"
    nohup nats-server -a 127.0.0.1 -p 4222 -js -sd "$store" >"$store/nats-server.log" 2>&1 &
    for _ in $(seq 1 50); do up 4222 && break; sleep 0.1; done
  fi
fi
if up 4222; then echo "NATS: reachable on 127.0.0.1:4222"; else echo "NATS: not available, the cluster tests will skip"; fi
exit 0
