#!/usr/bin/env bash
# Makes sure the PostgreSQL server the tests use is up (start it where this machine has one).
set -u
host=127.0.0.1; port=5432
if pg_isready -q -h "$host" -p "$port" 2>/dev/null; then exit 0; fi
if [ -d /etc/postgresql ] && command -v pg_ctlcluster >/dev/null; then
  version=$(ls /etc/postgresql | sort -V | tail -1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h "$host" -p "$port" && exit 0; sleep 1; done
fi
echo "PostgreSQL is not reachable on $host:$port" >&2
exit 1
