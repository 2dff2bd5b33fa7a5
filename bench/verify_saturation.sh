#!/usr/bin/env bash
# Exchanges while document verification is saturated: does one member's
# stream of uploads to POST /v1/verify slow the other members' exchanges?
#
# One node on SQLite, its verification pool as configured by default. Two
# phases of DURATION seconds each, the same open-loop exchange load at RATE
# requests per second from a Jiangsu member:
#   1. alone;
#   2. while UPLOADERS clients of each of three other members upload, without
#      pause, the valid sealed OFD vector, so that every verification worker
#      is busy and the queue full (callers beyond it get 503 verifier_busy).
#      (The load generator takes its body as an argument, so uploads are
#      small; bench/soak.sh sends larger ones with curl.)
# The report (target/verify-saturation/report.json, and printed) gives the
# exchanges' p50/p99 of both phases and how the uploads were answered. It
# measures; nothing here asserts a figure. docs/performance.md has a run's
# figures.
#
# Knobs (environment): DURATION (20 s), RATE (200/s), UPLOADERS (4 per
# member), BIN_DIR and PROFILE (as for compare.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=target/verify-saturation
# shellcheck source=bench/lib.sh
. bench/lib.sh

DURATION=${DURATION:-20}
RATE=${RATE:-200}
UPLOADERS=${UPLOADERS:-4}

install_missing python3:python3
binaries
mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/*.log
trap stop_started EXIT

federation 38463 39620
node_config sat 38464 38564 "sqlite:sat/yrdx.db"
mkdir -p "$ENV/sat"
YRDX_LOG=warn "$YRDX" serve --config "$ENV/sat.toml" >"$OUT/node.log" 2>&1 &
PIDS+=($!)
wait_for 127.0.0.1:38464

# The upload: the valid seal vector as the JSON body {"ofd": base64}.
python3 - conformance/vectors/seals/ofd-valid.ofd "$OUT/upload.json" <<'PY'
import base64, json, sys
src, out = sys.argv[1], sys.argv[2]
data = open(src, "rb").read()
json.dump({"ofd": base64.b64encode(data).decode()}, open(out, "w"))
print(f"== upload: {src}, {len(data)} bytes")
PY

exchanges() { # phase-name
  "$LOAD" run --url "https://127.0.0.1:38464$EXCHANGE_PATH" --body "$EXCHANGE_BODY" \
    --cacert "$CA" --cert "$MEMBER_CERT" --key "$MEMBER_KEY" --mode keepalive \
    --concurrency 32 --rate "$RATE" --duration "$DURATION" --warmup 2 --json >"$OUT/$1.json"
}

echo "== phase 1: exchanges alone, $RATE/s for $DURATION s"
exchanges alone

echo "== phase 2: the same while $UPLOADERS uploaders of each of three members verify"
uploaders=()
for member in sh_113100000024189075_yiwang zj_11330000002482028A_data ah_113400000029868223_data; do
  cert="$ENV/pki/members/$member.pem"
  [ -f "$cert" ] || { echo "no member certificate $cert" >&2; ls "$ENV/pki/members" >&2; exit 1; }
  "$LOAD" run --url "https://127.0.0.1:38464/v1/verify" --body "$(cat "$OUT/upload.json")" \
    --cacert "$CA" --cert "$cert" --key "${cert%.pem}.key" --mode keepalive \
    --concurrency "$UPLOADERS" --duration "$((DURATION + 6))" --warmup 0 --json >"$OUT/uploads-$member.json" &
  uploaders+=($!)
  PIDS+=($!)
done
sleep 3
exchanges saturated
wait "${uploaders[@]}"

python3 - "$OUT" <<'PY'
import glob, json, os, sys
out = sys.argv[1]
phase = {p: json.load(open(f"{out}/{p}.json")) for p in ("alone", "saturated")}
uploads = {"answered": 0, "statuses": {}, "codes": {}}
for f in glob.glob(f"{out}/uploads-*.json"):
    r = json.load(open(f))
    uploads["answered"] += r["requests"]
    for k, v in r["statuses"].items():
        uploads["statuses"][k] = uploads["statuses"].get(k, 0) + v
    for k, v in r["problem_codes"].items():
        uploads["codes"][k] = uploads["codes"].get(k, 0) + v
report = {
    "rate": phase["alone"]["rate"],
    "seconds": phase["alone"]["seconds"],
    "exchanges": {
        p: {
            "requests": r["requests"],
            "p50_ms": r["latency_ms"]["p50"],
            "p99_ms": r["latency_ms"]["p99"],
            "max_ms": r["latency_ms"]["max"],
            "statuses": r["statuses"],
            "errors": r["errors"],
        }
        for p, r in phase.items()
    },
    "uploads": uploads,
    "cores": os.cpu_count(),
}
json.dump(report, open(f"{out}/report.json", "w"), indent=2)
print(json.dumps(report, indent=2))
PY
