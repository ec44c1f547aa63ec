#!/usr/bin/env bash
# `make run`: the web server and the worker side by side. The worker sends the outbox (mail
# lands in instance/mail/ as .eml files), renders the records and runs the deadlines. Ctrl-C,
# or either process ending, stops both.
set -euo pipefail
flask="${FLASK_BIN:-.venv/bin/flask}"
export FLASK_APP="${FLASK_APP:-wsgi}"
host="${ODR_HOST:-127.0.0.1}"
port="${ODR_PORT:-5000}"

pids=()
stop() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT INT TERM

"$flask" odr worker --interval "${ODR_WORKER_INTERVAL:-5}" &
pids+=($!)
echo "== worker running (pid $!): mail in ${ODR_MAIL_DIR:-instance/mail}/ =="
"$flask" run --host "$host" --port "$port" &
pids+=($!)
echo "== serving on http://$host:$port (Ctrl-C stops both) =="
# Whichever ends first ends the other (the trap).
wait -n "${pids[@]}"
