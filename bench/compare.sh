#!/usr/bin/env bash
# Side by side, on this machine: one sample provider called
#   (a) directly,
#   (b) through nginx doing mutual-TLS pass-through (ssl_verify_client on),
#   (c) through the stack's floor: the gateway's own TLS listener and provider
#       client with nothing between them (gateway/examples/passthrough.rs),
#   (d) through yrdx's full pipeline on SQLite,
#   (e) through yrdx's full pipeline on PostgreSQL,
# in HTTP/1.1 keep-alive and new-connection-per-request modes, at several
# concurrency levels, alternating the five in each round so that drift on a
# shared machine falls on all of them alike. Then the CPU nginx, the floor and
# yrdx spend per request at the same fixed rates, and peak RSS of nginx and
# yrdx holding 10,000 idle mutually authenticated connections.
#
# Prints one table and writes target/bench/compare.json. Knobs (environment):
#   PROFILE (release), BIN_DIR (binaries built earlier, e.g. to compare two
#   commits; no build then: yrdx, yrdx-load and passthrough, the example), ROUNDS (3), DURATION seconds per run (8), WARMUP (2), CONCURRENCY ("1 16 64 256"),
#   MODES ("keepalive newconn"), IDLE (10000), CPU_RATES ("2000 4000": fixed
#   rates at which the CPU nginx, the floor and the SQLite node spend per request is
#   measured; "" skips it), YRDX_BENCH_DATABASE_URL
#   (postgres://postgres@127.0.0.1:5432/postgres — a scratch database is created there).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=target/bench
# shellcheck source=bench/lib.sh
. bench/lib.sh

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8}
WARMUP=${WARMUP:-2}
CONCURRENCY=${CONCURRENCY:-"1 16 64 256"}
MODES=${MODES:-"keepalive newconn"}
IDLE=${IDLE:-10000}
PG_SERVER=${YRDX_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}

install_missing nginx:nginx python3:python3 psql:postgresql-client
binaries
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

cleanup() {
  stop_started
  [ -f "$OUT/nginx/nginx.pid" ] && kill "$(cat "$OUT/nginx/nginx.pid")" 2>/dev/null || true
  # The scratch database goes too (FORCE: the node may still be closing).
  [ -n "${PG_DB:-}" ] && psql -X -q "$PG_SERVER" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

federation 18443 19600

echo "== yrdx on SQLite (18444) and on PostgreSQL (18445)"
node_config bench-sqlite 18444 18544 "sqlite:bench-sqlite/yrdx.db"
PG_DB="yrdx_bench_$(date +%s)"
psql -X -q "$PG_SERVER" -c "CREATE DATABASE $PG_DB" >/dev/null
node_config bench-pg 18445 18545 "${PG_SERVER%/*}/$PG_DB"
YRDX_LOG=warn $YRDX serve --config "$ENV/bench-sqlite.toml" >"$OUT/sqlite.log" 2>&1 &
SQLITE_PID=$!; PIDS+=($SQLITE_PID)
YRDX_LOG=warn $YRDX serve --config "$ENV/bench-pg.toml" >"$OUT/pg.log" 2>&1 &
PG_PID=$!; PIDS+=($PG_PID)
wait_for 127.0.0.1:18444
wait_for 127.0.0.1:18445

echo "== nginx with ssl_verify_client on (18446)"
mkdir -p "$OUT/nginx"
ABS=$(cd "$ENV" && pwd)
cat >"$OUT/nginx/nginx.conf" <<EOF
worker_processes auto;
pid $(pwd)/$OUT/nginx/nginx.pid;
error_log $(pwd)/$OUT/nginx/error.log warn;
events { worker_connections 20000; }
http {
  access_log off;
  upstream provider { server $PROVIDER; keepalive 512; }
  server {
    listen 127.0.0.1:18446 ssl http2;
    ssl_certificate $ABS/pki/gateway/server.pem;
    ssl_certificate_key $ABS/pki/gateway/server.key;
    ssl_client_certificate $ABS/pki/ca-bundle.pem;
    ssl_verify_client on;
    ssl_protocols TLSv1.2 TLSv1.3;
    keepalive_requests 1000000;
    location / {
      proxy_pass https://provider;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_ssl_certificate $ABS/pki/gateway/upstream.pem;
      proxy_ssl_certificate_key $ABS/pki/gateway/upstream.key;
      proxy_ssl_trusted_certificate $ABS/pki/ca-bundle.pem;
      proxy_ssl_verify on;
      proxy_ssl_name localhost;
      proxy_ssl_session_reuse on;
    }
  }
}
EOF
nginx -c "$(pwd)/$OUT/nginx/nginx.conf" -p "$(pwd)/$OUT/nginx"
wait_for 127.0.0.1:18446

echo "== the stack's floor: the SQLite node's TLS and provider client, no pipeline (18447)"
$PASSTHROUGH "$ENV/bench-sqlite.toml" 127.0.0.1:18447 "https://$PROVIDER" >"$OUT/passthrough.log" 2>&1 &
STACK_PID=$!; PIDS+=($STACK_PID)
wait_for 127.0.0.1:18447

run() { # target mode concurrency [extra load-generator arguments]
  local url body cert key
  case $1 in
    direct) url="https://$PROVIDER$NATIVE_PATH"; body=$NATIVE_BODY; cert=$UP_CERT; key=$UP_KEY ;;
    nginx) url="https://127.0.0.1:18446$NATIVE_PATH"; body=$NATIVE_BODY; cert=$MEMBER_CERT; key=$MEMBER_KEY ;;
    stack) url="https://127.0.0.1:18447$NATIVE_PATH"; body=$NATIVE_BODY; cert=$MEMBER_CERT; key=$MEMBER_KEY ;;
    yrdx-sqlite) url="https://127.0.0.1:18444$EXCHANGE_PATH"; body=$EXCHANGE_BODY; cert=$MEMBER_CERT; key=$MEMBER_KEY ;;
    yrdx-pg) url="https://127.0.0.1:18445$EXCHANGE_PATH"; body=$EXCHANGE_BODY; cert=$MEMBER_CERT; key=$MEMBER_KEY ;;
  esac
  $LOAD run --url "$url" --body "$body" --cacert "$CA" --cert "$cert" --key "$key" \
    --mode "$2" --concurrency "$3" --duration "$DURATION" --warmup "$WARMUP" --json "${@:4}"
}

RESULTS="$OUT/results.jsonl"
: >"$RESULTS"
for round in $(seq 1 "$ROUNDS"); do
  for mode in $MODES; do
    for c in $CONCURRENCY; do
      for target in direct nginx stack yrdx-sqlite yrdx-pg; do
        printf '\r== round %s/%s  %-9s c=%-4s %-12s' "$round" "$ROUNDS" "$mode" "$c" "$target"
        line=$(run "$target" "$mode" "$c")
        echo "{\"round\":$round,\"target\":\"$target\",\"mode\":\"$mode\",\"concurrency\":$c,\"report\":$line}" >>"$RESULTS"
      done
    done
  done
done
echo

NGINX_PIDS=$(pgrep -f "nginx: (master|worker)" | tr '\n' ' ')

# CPU per request at the same offered rate: user and system time of nginx's
# processes, of the floor and of the SQLite node (whose store is in-process, so
# all its work is counted) over an open-loop run of 64 keep-alive connections, divided by
# the requests sent (rate x (warm-up + duration)).
CPU_RATES=${CPU_RATES-"2000 4000"}
CPU_RESULTS="$OUT/cpu.jsonl"
: >"$CPU_RESULTS"
proc_sum() { # file-under-/proc/PID awk-program pids...: the program's number summed over the pids
  local file=$1 program=$2 sum=0; shift 2
  for p in "$@"; do sum=$((sum + $(awk "$program" "/proc/$p/$file"))); done
  echo "$sum"
}
cpu_ticks() { proc_sum stat '{print $14 + $15}' "$@"; } # user + system, in clock ticks
if [ -n "$CPU_RATES" ]; then
  TICKS_PER_SECOND=$(getconf CLK_TCK)
  SECONDS_SENT=$(python3 -c "print($WARMUP + $DURATION)")
  for round in $(seq 1 "$ROUNDS"); do
    for rate in $CPU_RATES; do
      for target in nginx stack yrdx-sqlite; do
        printf '\r== CPU per request: round %s/%s  %s req/s  %-12s' "$round" "$ROUNDS" "$rate" "$target"
        case $target in nginx) pids=$NGINX_PIDS ;; stack) pids=$STACK_PID ;; *) pids=$SQLITE_PID ;; esac
        # shellcheck disable=SC2086
        before=$(cpu_ticks $pids)
        line=$(run "$target" keepalive 64 --rate "$rate")
        # shellcheck disable=SC2086
        after=$(cpu_ticks $pids)
        echo "{\"round\":$round,\"target\":\"$target\",\"rate\":$rate,\"cpu_ticks\":$((after - before)),\"ticks_per_second\":$TICKS_PER_SECOND,\"seconds_sent\":$SECONDS_SENT,\"report\":$line}" >>"$CPU_RESULTS"
      done
    done
  done
  echo
fi

echo "== peak RSS at $IDLE idle mutually authenticated connections"
rss_kib() { proc_sum status '/^VmRSS:/ {print $2}' "$@"; } # resident KiB
idle_rss() { # addr pids...
  local addr=$1; shift
  local before; before=$(rss_kib "$@")
  $LOAD idle --addr "$addr" --cacert "$CA" --cert "$MEMBER_CERT" --key "$MEMBER_KEY" --connections "$IDLE" --hold 8 >"$OUT/idle.log" 2>&1 &
  local load=$!
  local peak=$before
  while kill -0 "$load" 2>/dev/null; do
    local now; now=$(rss_kib "$@")
    [ "$now" -gt "$peak" ] && peak=$now
    sleep 0.5
  done
  echo "$before $peak $(cat "$OUT/idle.log")"
}
# shellcheck disable=SC2086
NGINX_RSS=$(idle_rss 127.0.0.1:18446 $NGINX_PIDS)
YRDX_RSS=$(idle_rss 127.0.0.1:18444 "$SQLITE_PID")

python3 - "$RESULTS" "$NGINX_RSS" "$YRDX_RSS" "$OUT/compare.json" "$CPU_RESULTS" <<'PY'
import json, statistics, sys, platform, os
results, nginx_rss, yrdx_rss, out = sys.argv[1], sys.argv[2].split(), sys.argv[3].split(), sys.argv[4]
cpu_rows = [json.loads(l) for l in open(sys.argv[5])]
rows = [json.loads(l) for l in open(results)]
# The targets in the table's order; all but the first two are compared with nginx.
TARGETS = ["direct", "nginx", "stack", "yrdx-sqlite", "yrdx-pg"]
cells = {}
for r in rows:
    k = (r["mode"], r["concurrency"], r["target"])
    cells.setdefault(k, []).append(r["report"])
def med(reports, f):
    return statistics.median(f(x) for x in reports)
table = []
modes = sorted({r["mode"] for r in rows}, key=["keepalive", "h2", "newconn"].index)
for mode in modes:
    for c in sorted({r["concurrency"] for r in rows}):
        line = {"mode": mode, "concurrency": c}
        for t in TARGETS:
            rep = cells.get((mode, c, t), [])
            if not rep:
                continue
            line[t] = {
                "rps": med(rep, lambda x: x["throughput"]),
                "p50_ms": med(rep, lambda x: x["latency_ms"]["p50"]),
                "p99_ms": med(rep, lambda x: x["latency_ms"]["p99"]),
                "non_2xx": sum(sum(v for k, v in x["statuses"].items() if not k.startswith("2")) for x in rep),
                "errors": sum(sum(x["errors"].values()) for x in rep),
            }
        if "nginx" in line:
            for t in TARGETS[2:]:
                if t in line:
                    line[t]["rps_vs_nginx"] = line[t]["rps"] / line["nginx"]["rps"] if line["nginx"]["rps"] else None
                    line[t]["p99_minus_direct_ms"] = line[t]["p99_ms"] - line["direct"]["p99_ms"]
        table.append(line)
cpu = []
for rate in sorted({r["rate"] for r in cpu_rows}):
    line = {"rate": rate}
    for t in ["nginx", "stack", "yrdx-sqlite"]:
        rs = [r for r in cpu_rows if r["rate"] == rate and r["target"] == t]
        if not rs:
            continue
        us = [r["cpu_ticks"] * 1e6 / r["ticks_per_second"] / (rate * r["seconds_sent"]) for r in rs]
        line[t] = {
            "cpu_us_per_request": statistics.median(us),
            "p99_ms": statistics.median(r["report"]["latency_ms"]["p99"] for r in rs),
            # A target that could not keep up answered late: its figure is
            # then its cost when saturated, not at this rate.
            "kept_up": all(r["report"]["throughput"] >= 0.95 * rate for r in rs),
        }
    if "nginx" in line and line["nginx"]["cpu_us_per_request"]:
        for t, key in [("stack", "stack_over_nginx"), ("yrdx-sqlite", "yrdx_over_nginx")]:
            if t in line:
                line[key] = line[t]["cpu_us_per_request"] / line["nginx"]["cpu_us_per_request"]
    cpu.append(line)
summary = {
    "machine": {"cores": os.cpu_count(), "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1), "kernel": platform.release()},
    "rounds": max(r["round"] for r in rows),
    "table": table,
    "cpu_per_request": cpu,
    "idle_rss_kib": {"connections": int(os.environ.get("IDLE", "10000")), "nginx": {"before": int(nginx_rss[0]), "peak": int(nginx_rss[1])}, "yrdx": {"before": int(yrdx_rss[0]), "peak": int(yrdx_rss[1])}},
}
json.dump(summary, open(out, "w"), indent=2)
hdr = f"{'mode':<9} {'c':>4} | {'direct req/s':>12} {'p50':>6} {'p99':>6} | {'nginx req/s':>11} {'p50':>6} {'p99':>6} | {'stack req/s':>11} {'p50':>6} {'p99':>6} {'÷nginx':>6} | {'yrdx-sqlite':>11} {'p50':>6} {'p99':>6} {'÷nginx':>6} {'Δp99':>6} | {'yrdx-pg':>11} {'p50':>6} {'p99':>6} {'÷nginx':>6} {'Δp99':>6}"
print(hdr); print("-" * len(hdr))
for l in table:
    def f(t, ratio=False, delta=False):
        x = l.get(t)
        if not x: return ""
        s = f"{x['rps']:>11.0f} {x['p50_ms']:>6.2f} {x['p99_ms']:>6.2f}"
        if ratio: s += f" {x.get('rps_vs_nginx') or 0:>6.2f}"
        if delta: s += f" {x.get('p99_minus_direct_ms') or 0:>+6.2f}"
        return s
    print(f"{l['mode']:<9} {l['concurrency']:>4} | {f('direct').rjust(26)} | {f('nginx')} | {f('stack', True)} | {f('yrdx-sqlite', True, True)} | {f('yrdx-pg', True, True)}")
    bad = {t: (l[t]["non_2xx"], l[t]["errors"]) for t in TARGETS if t in l and (l[t]["non_2xx"] or l[t]["errors"])}
    if bad: print(f"   non-2xx/errors: {bad}")
for l in cpu:
    def c(t):
        x = l.get(t)
        return f"{t} {x['cpu_us_per_request']:.0f} µs (p99 {x['p99_ms']:.2f} ms{'' if x['kept_up'] else ', did not keep up'})" if x else ""
    ratios = "".join(f"; {name} ÷ nginx {l[key]:.2f}" for name, key in [("stack", "stack_over_nginx"), ("yrdx", "yrdx_over_nginx")] if key in l)
    print(f"CPU per request at {l['rate']} req/s (64 keep-alive connections, open loop): {c('nginx')}, {c('stack')}, {c('yrdx-sqlite')}{ratios}")
print(f"\nidle mTLS connections: {summary['idle_rss_kib']['connections']}; peak RSS nginx {int(nginx_rss[1])/1024:.0f} MiB (from {int(nginx_rss[0])/1024:.0f}), yrdx {int(yrdx_rss[1])/1024:.0f} MiB (from {int(yrdx_rss[0])/1024:.0f})")
print(f"written to {out}")
PY
