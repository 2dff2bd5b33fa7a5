#!/usr/bin/env bash
# Soak: a node on SQLite under mixed traffic with faults, bounded in time.
# Exchanges run without pause at CONCURRENCY keep-alive clients; every
# FAULT_EVERY seconds one fault is injected, in turn:
#   - clients that hang up while their provider is slow,
#   - malformed HTTP/1.1 and an oversized request head,
#   - document uploads to POST /v1/verify past the node's verification pool,
#   - kill -9 of the node mid-traffic, and a restart.
# The node's RSS is sampled every SAMPLE_EVERY seconds. At the end the report
# (target/soak/report.json, and printed) says how many exchanges were
# answered and how, how many leaves the log holds, how far the signed
# checkpoint reaches, whether `yrdx audit verify` accepts the log, and RSS
# over time. It measures; nothing here asserts a figure. docs/operations.md
# has a run's figures.
#
# Knobs (environment): DURATION (120 s), CONCURRENCY (8), FAULT_EVERY (15 s),
# SAMPLE_EVERY (5 s), BIN_DIR and PROFILE (as for compare.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=target/soak
# shellcheck source=bench/lib.sh
. bench/lib.sh

DURATION=${DURATION:-120}
CONCURRENCY=${CONCURRENCY:-8}
FAULT_EVERY=${FAULT_EVERY:-15}
SAMPLE_EVERY=${SAMPLE_EVERY:-5}

install_missing curl:curl openssl:openssl python3:python3
binaries
mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/*.csv "$OUT"/*.log
trap stop_started EXIT

federation 38443 39600
node_config soak 38444 38544 "sqlite:soak/yrdx.db"
mkdir -p "$ENV/soak"
# The node's own verification pool, small, so that uploads find its bounds.
printf '\n[verify]\nworkers = 1\nqueue = 1\nper_member = 1\n' >>"$ENV/soak.toml"

NODE_PID=
start_node() {
  YRDX_LOG=warn "$YRDX" serve --config "$ENV/soak.toml" >>"$OUT/node.log" 2>&1 &
  NODE_PID=$!
  PIDS+=("$NODE_PID")
  wait_for 127.0.0.1:38444
}
start_node
echo "== node up (pid $NODE_PID); $DURATION s of traffic at $CONCURRENCY clients, a fault every $FAULT_EVERY s"

# Exchanges, without pause, for the whole run; a restart's refused connections
# count as errors of the load, not as a stop.
"$LOAD" run --url "https://127.0.0.1:38444$EXCHANGE_PATH" --body "$EXCHANGE_BODY" \
  --cacert "$CA" --cert "$MEMBER_CERT" --key "$MEMBER_KEY" --mode keepalive \
  --concurrency "$CONCURRENCY" --duration "$DURATION" --warmup 0 --json >"$OUT/load.json" 2>"$OUT/load.log" &
LOAD_PID=$!
PIDS+=("$LOAD_PID")

client() { # curl with the Jiangsu member's certificate
  curl -sk --cacert "$CA" --cert "$MEMBER_CERT" --key "$MEMBER_KEY" "$@"
}
SLOW_BODY='{"key":{"uscc":"91330100MA2CC1L842"},"purpose":"市场主体登记核验"}'
OFD=conformance/vectors/seals/ofd-valid.ofd

faults=(hangups malformed uploads kill)
fault() {
  case "$1" in
    hangups)
      for _ in 1 2 3 4; do
        client -X POST -H 'content-type: application/json' --data "$SLOW_BODY" \
          --max-time 0.3 "https://127.0.0.1:38444$EXCHANGE_PATH" >/dev/null 2>&1 || true
      done ;;
    malformed)
      printf 'GET /v1/audit/key HTTP/1.1\r\nHost x\r\n\r\n' |
        timeout 5 openssl s_client -quiet -alpn http/1.1 -connect 127.0.0.1:38444 \
          -cert "$MEMBER_CERT" -key "$MEMBER_KEY" -CAfile "$CA" >/dev/null 2>&1 || true
      client -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)" \
        "https://127.0.0.1:38444/v1/audit/key" >/dev/null 2>&1 || true ;;
    uploads)
      local uploads=()
      for _ in 1 2 3 4 5 6; do
        client -X POST --data-binary "@$OFD" -o /dev/null -w '%{http_code}\n' \
          "https://127.0.0.1:38444/v1/verify" >>"$OUT/uploads.log" 2>&1 &
        uploads+=($!)
      done
      wait "${uploads[@]}" ;;
    kill)
      kill -9 "$NODE_PID" 2>/dev/null || true
      sleep 1
      start_node ;;
  esac
  echo "$(date -u +%H:%M:%S) $1" >>"$OUT/faults.log"
}

echo "t_s,rss_kib" >"$OUT/rss.csv"
started=$(date +%s)
next_fault=$FAULT_EVERY
i=0
while kill -0 "$LOAD_PID" 2>/dev/null; do
  now=$(($(date +%s) - started))
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$NODE_PID/status" 2>/dev/null || echo 0)
  echo "$now,${rss:-0}" >>"$OUT/rss.csv"
  if [ "$now" -ge "$next_fault" ] && [ "$now" -lt "$((DURATION - 5))" ]; then
    fault "${faults[$((i % ${#faults[@]}))]}"
    i=$((i + 1))
    next_fault=$((next_fault + FAULT_EVERY))
  fi
  sleep "$SAMPLE_EVERY"
done
wait "$LOAD_PID" || true

# Let the last checkpoint catch up, then read what the log holds.
sleep 3
REG_CERT="$ENV/pki/members/sh_11310000MB1X47335F_audit.pem"
REG_KEY="$ENV/pki/members/sh_11310000MB1X47335F_audit.key"
verify_ok=false
if "$YRDX" audit verify --url "https://127.0.0.1:38444" --cacert "$CA" --client-cert "$REG_CERT" \
  --client-key "$REG_KEY" --key "$ENV/log.pub" >"$OUT/verify.log" 2>&1; then
  verify_ok=true
fi

python3 - "$OUT" "$ENV/soak/yrdx.db" "$verify_ok" <<'PY'
import json, sqlite3, sys
out, db, verify_ok = sys.argv[1], sys.argv[2], sys.argv[3] == "true"
load = json.load(open(f"{out}/load.json"))
con = sqlite3.connect(db)
leaves = con.execute("SELECT size FROM log_meta").fetchone()[0]
tree = con.execute("SELECT size FROM log_tree").fetchone()[0]
checkpoints = con.execute("SELECT COUNT(*) FROM log_checkpoints").fetchone()[0]
codes = dict(con.execute(
    "SELECT COALESCE(json_extract(CAST(leaf AS TEXT), '$.code'), 'served'), COUNT(*) "
    "FROM log_leaves GROUP BY 1").fetchall())
rss = [int(l.split(",")[1]) for l in open(f"{out}/rss.csv").read().split()[1:] if l.split(",")[1] != "0"]
faults = [l.split()[1] for l in open(f"{out}/faults.log")] if __import__("os").path.exists(f"{out}/faults.log") else []
report = {
    "exchanges_answered": load.get("requests"),
    "answers_by_status": load.get("statuses"),
    "load_errors": load.get("errors"),
    "faults": faults,
    "leaves": leaves,
    "checkpoint_covers": tree,
    "checkpoints_signed": checkpoints,
    "leaves_by_code": codes,
    "audit_verify_ok": verify_ok,
    "rss_kib": {"first": rss[0] if rss else None, "max": max(rss) if rss else None,
                "last": rss[-1] if rss else None},
}
json.dump(report, open(f"{out}/report.json", "w"), indent=2, ensure_ascii=False)
print(json.dumps(report, indent=2, ensure_ascii=False))
PY
