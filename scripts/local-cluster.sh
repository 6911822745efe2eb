#!/usr/bin/env bash
# A Docker-free Tracklane cluster on loopback for development:
#   3 nats-server nodes (JetStream, one cluster, R3 streams), PostgreSQL (initdb in a temp dir),
#   2 collectors, 2 processors and 1 API, all bound to 127.0.0.1. Ctrl-C stops everything and removes
#   the temp dir. Needs nats-server and PostgreSQL's server binaries (apt-get install nats-server postgresql).
# Ports start at LOCAL_CLUSTER_BASE (default 18000); see the printed table.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE="${LOCAL_CLUSTER_BASE:-18000}"
NATS_BIN="${NATS_SERVER_BIN:-nats-server}"
PG_BIN="${PG_BIN_DIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}"
command -v "$NATS_BIN" >/dev/null || { echo "nats-server not found: apt-get install -y nats-server" >&2; exit 1; }
[ -x "$PG_BIN/initdb" ] || { echo "PostgreSQL server binaries not found (set PG_BIN_DIR): apt-get install -y postgresql" >&2; exit 1; }

WORK="$(mktemp -d /tmp/tracklane-cluster.XXXXXX)"
PIDS=()
PG_DATA="$WORK/pg/data"
PG_STARTED=0
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

cleanup() {
  trap - INT TERM EXIT
  echo; echo "stopping..."
  # Roles first (they drain and commit), then the brokers and the database.
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  [ "$PG_STARTED" = 1 ] && as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
  echo "stopped; removed $WORK"
}
trap cleanup INT TERM EXIT

wait_http() { # url what
  for _ in $(seq 300); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "timed out waiting for $2 at $1; logs in $WORK/logs" >&2; exit 1
}

mkdir -p "$WORK/logs" "$WORK/pg"
# NATS: client ports BASE+222.., cluster routes BASE+322.., monitoring BASE+422..
ROUTES="nats://127.0.0.1:$((BASE + 322)),nats://127.0.0.1:$((BASE + 323)),nats://127.0.0.1:$((BASE + 324))"
SERVERS=()
for i in 0 1 2; do
  "$NATS_BIN" -a 127.0.0.1 -p $((BASE + 222 + i)) -m $((BASE + 422 + i)) -js -sd "$WORK/nats/n$i" -n "n$i" \
    --cluster_name tracklane --cluster "nats://127.0.0.1:$((BASE + 322 + i))" --routes "$ROUTES" \
    >"$WORK/logs/nats-$i.log" 2>&1 &
  PIDS+=($!)
  SERVERS+=("\"nats://127.0.0.1:$((BASE + 222 + i))\"")
done

PG_PORT=$((BASE + 432))
# initdb and postgres refuse root: run them as postgres, which must reach the dir.
[ "$(id -u)" = 0 ] && chmod 755 "$WORK" && chown postgres "$WORK/pg"
as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -A trust -E UTF8 --locale=C >"$WORK/logs/initdb.log" 2>&1
as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$WORK/pg/server.log" -w -o "-p $PG_PORT -k $WORK/pg -c listen_addresses=127.0.0.1" start >/dev/null
PG_STARTED=1

# JetStream answers only once the cluster has elected a meta leader.
for i in 0 1 2; do wait_http "http://127.0.0.1:$((BASE + 422 + i))/healthz?js-enabled-only=true" "nats n$i"; done

WRITE_KEY="wk_$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"
API_KEY="ak_$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"
CONFIG="$WORK/tracklane.config.json"
cat >"$CONFIG" <<JSON
{
  "dataDir": "$WORK/default",
  "logLevel": "warn",
  "eventPartitions": 4,
  "keys": { "writeKeys": ["$WRITE_KEY"], "apiKey": "$API_KEY" },
  "log": { "kind": "nats", "servers": [$(IFS=,; echo "${SERVERS[*]}")], "replicas": 3 },
  "store": { "kind": "postgres", "url": "postgres://postgres@127.0.0.1:$PG_PORT/postgres" }
}
JSON
chmod 600 "$CONFIG" # it holds the keys, and $WORK is readable so the postgres user can reach its dir

TL=(node --import tsx "$ROOT/packages/cli/src/bin.ts")
role() { # role name port
  (cd "$ROOT" && exec "${TL[@]}" "$1" --config "$CONFIG" --data-dir "$WORK/$2" --port "$3") >"$WORK/logs/$2.log" 2>&1 &
  PIDS+=($!)
}
# The first processor migrates the schema; the rest start once it is up.
role processor processor-1 $((BASE + 91)); wait_http "http://127.0.0.1:$((BASE + 91))/health" processor-1
role processor processor-2 $((BASE + 92))
role collector collector-1 $((BASE + 81))
role collector collector-2 $((BASE + 82))
role api api $((BASE + 80))
for port in $((BASE + 92)) $((BASE + 81)) $((BASE + 82)) $((BASE + 80)); do wait_http "http://127.0.0.1:$port/health" "port $port"; done

cat <<TXT
Tracklane local cluster (loopback only; state and logs in $WORK)
  NATS        nats://127.0.0.1:$((BASE + 222)) :$((BASE + 223)) :$((BASE + 224))  (monitoring :$((BASE + 422))-:$((BASE + 424)))
  PostgreSQL  postgres://postgres@127.0.0.1:$PG_PORT/postgres
  collectors  http://127.0.0.1:$((BASE + 81))  http://127.0.0.1:$((BASE + 82))
  processors  http://127.0.0.1:$((BASE + 91))/health  http://127.0.0.1:$((BASE + 92))/health
  API         http://127.0.0.1:$((BASE + 80))  (dashboard; API key $API_KEY)
  write key   $WRITE_KEY
  config      $CONFIG

Send an event:
  curl -u '$WRITE_KEY:' http://127.0.0.1:$((BASE + 81))/v1/batch -H 'content-type: application/json' \\
    -d '{"batch":[{"type":"track","event":"Hello","userId":"me"}]}'
Query it:
  curl -H 'authorization: Bearer $API_KEY' http://127.0.0.1:$((BASE + 80))/api/sql \\
    -H 'content-type: application/json' -d '{"sql":"SELECT event, count(*) FROM events GROUP BY 1"}'
Ctrl-C to stop.
TXT
wait
