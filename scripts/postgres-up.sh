#!/usr/bin/env bash
# Makes sure the PostgreSQL server the tests use is up (start it where this machine has one).
# The server is the one of ODR_TEST_DATABASE_URL (default 127.0.0.1:5432).
set -u
url="${ODR_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}"
hostport="${url#*://}"; hostport="${hostport#*@}"; hostport="${hostport%%/*}"
host="${hostport%%:*}"; port="5432"
[ "$hostport" != "$host" ] && port="${hostport##*:}"
[ -n "$host" ] || host=127.0.0.1

ready() {
  if command -v pg_isready >/dev/null; then
    pg_isready -q -h "$host" -p "$port"
  else  # no client tools: a plain TCP connect says the server listens
    (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
  fi
}

ready && exit 0
if [ -d /etc/postgresql ] && command -v pg_ctlcluster >/dev/null; then
  version=$(ls /etc/postgresql | sort -V | tail -1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do ready && exit 0; sleep 1; done
fi
echo "PostgreSQL is not reachable on $host:$port (ODR_TEST_DATABASE_URL=$url)" >&2
exit 1
