#!/usr/bin/env bash
# Instructions per request, counted by valgrind's callgrind: a count, not a
# time, so it comes out the same on a busy machine as on an idle one and
# compares two versions of the code without the day-to-day noise that req/s
# and CPU time carry on a shared machine (docs/performance.md).
#
# Runs the SQLite node (yrdx's whole pipeline) and the stack's floor
# (gateway/examples/passthrough.rs) under callgrind, sends each
# WARMUP_REQUESTS uncounted requests, then counts REQUESTS more at
# CONCURRENCY keep-alive connections (their handshakes included). Prints, per
# request, the instructions and allocator calls of each, and the node's
# instructions by part of the pipeline; writes
# target/bench-instructions/instructions.json.
#
# Knobs (environment): REQUESTS (4000), WARMUP_REQUESTS (500), CONCURRENCY
# (16), BIN_DIR and PROFILE (as for compare.sh). Takes a few minutes: code
# runs some fifty times slower under valgrind.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=target/bench-instructions
# shellcheck source=bench/lib.sh
. bench/lib.sh

REQUESTS=${REQUESTS:-4000}
WARMUP_REQUESTS=${WARMUP_REQUESTS:-500}
CONCURRENCY=${CONCURRENCY:-16}

install_missing valgrind:valgrind python3:python3
binaries
mkdir -p "$OUT"
rm -f "$OUT"/*.callgrind*
trap stop_started EXIT

federation 28443 29600
node_config bench-sqlite 28444 28544 "sqlite:bench-sqlite/yrdx.db"

echo "== yrdx on SQLite (28444) and the floor (28447), each under callgrind"
YRDX_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$OUT/yrdx.callgrind" \
  "$YRDX" serve --config "$ENV/bench-sqlite.toml" >"$OUT/yrdx.log" 2>&1 &
YRDX_PID=$!; PIDS+=($YRDX_PID)
valgrind --tool=callgrind --callgrind-out-file="$OUT/floor.callgrind" \
  "$PASSTHROUGH" "$ENV/bench-sqlite.toml" 127.0.0.1:28447 "https://$PROVIDER" >"$OUT/floor.log" 2>&1 &
FLOOR_PID=$!; PIDS+=($FLOOR_PID)
WAIT_TRIES=1200 wait_for 127.0.0.1:28444
WAIT_TRIES=1200 wait_for 127.0.0.1:28447

count() { # url body requests: sends them; prints the report (JSON)
  $LOAD run --url "$1" --body "$2" --cacert "$CA" --cert "$MEMBER_CERT" --key "$MEMBER_KEY" \
    --mode keepalive --concurrency "$CONCURRENCY" --duration 3600 --warmup 0 --requests "$3" --json
}
measure() { # name pid url body
  echo "== $1: $WARMUP_REQUESTS requests to warm up, then $REQUESTS counted"
  count "$3" "$4" "$WARMUP_REQUESTS" >/dev/null
  callgrind_control -z "$2" >/dev/null 2>&1
  count "$3" "$4" "$REQUESTS" >"$OUT/$1.load.json"
  callgrind_control -d "$2" >/dev/null 2>&1
}
measure yrdx "$YRDX_PID" "https://127.0.0.1:28444$EXCHANGE_PATH" "$EXCHANGE_BODY"
measure floor "$FLOOR_PID" "https://127.0.0.1:28447$NATIVE_PATH" "$NATIVE_BODY"

python3 - "$OUT" "$REQUESTS" "$CONCURRENCY" <<'PY'
import json, re, sys
from collections import Counter
out, requests, concurrency = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def parse(path):
    """Per function (by name): instructions in it and in what it calls, and
    how often it was called; from the raw callgrind file. A function's calls
    of itself are not added again."""
    names, own, below, called = {}, Counter(), Counter(), Counter()
    fn = callee = pending = None
    for line in open(path, errors="replace"):
        head = line[:1]
        if head.isdigit() or head in "+-*":
            fields = line.split()
            if len(fields) < 2:
                continue
            if pending is not None:  # the cost of the call announced just before
                if pending != fn:
                    below[fn] += int(fields[1])
                pending = None
            else:
                own[fn] += int(fields[1])
            continue
        m = re.match(r"(c?fn)=\((\d+)\)(?: (.*))?", line.rstrip("\n"))
        if m:
            if m.group(3):
                names[m.group(2)] = m.group(3)
            if m.group(1) == "fn":
                fn = m.group(2)
            else:
                callee = m.group(2)
        elif line.startswith("calls="):
            pending = callee
            called[callee] += int(line.split("=")[1].split()[0])
    inclusive, calls = Counter(), Counter()
    for k in set(own) | set(below):
        inclusive[names.get(k, "?")] += own[k] + below[k]
    for k, n in called.items():
        calls[names.get(k, "?")] += n
    return sum(own.values()), inclusive, calls

# The node's parts: (label, pattern of the function whose inclusive count it
# is). A function the compiler inlined has no count of its own ("-"); the
# salted digests, for one, are only in the SHA-256 row.
PARTS = [
    ("connections: TLS and HTTP on the server side (the exchange runs as its own task, below)", r"^yrdx_gateway::server::accept_loop::\{\{closure\}\}::\{\{closure\}\}$"),
    ("the exchange's task: identify to answer (all below but the threads)", r"^yrdx_gateway::route::serve::\{\{closure\}\}$"),
    ("  quota meter", r"^yrdx_gateway::pipeline::meter::run::\{\{closure\}\}$"),
    ("  request mapping", r"^yrdx_gateway::pipeline::map_request::run$"),
    ("  provider call: TLS client, HTTP", r"^yrdx_gateway::pipeline::upstream::run::\{\{closure\}\}$"),
    ("  response mapping", r"^yrdx_adapters::mapping::Mapping::catalogue_record$"),
    ("  audit: leaf, its hash, waiting for the append, receipt", r"^yrdx_gateway::pipeline::audit::finish::\{\{closure\}\}$"),
    ("log writer task", r"^yrdx_registry::log::writer::\{\{closure\}\}$"),
    ("SQLite's thread (sqlx worker): statements, WAL", r"^sqlx_sqlite::connection::worker::ConnectionWorker::establish::\{\{closure\}\}::\{\{closure\}\}$"),
    ("integrator: leaves re-hashed, tree, checkpoints", r"^yrdx_registry::log::integrate_loop::\{\{closure\}\}$"),
    ("SHA-256 compression, all callers (*)", r"sha256_block_data_order"),
    ("allocator: malloc, realloc, free", None),
]
ALLOCATING = r"^mi_(malloc|realloc|zalloc)_aligned$"
ALLOC = ALLOCATING + r"|^mi_free$"
report = {"requests": requests, "concurrency": concurrency}
for name in ["yrdx", "floor"]:
    total, inclusive, calls = parse(f"{out}/{name}.callgrind.1")
    parts = {}
    for label, pattern in PARTS:
        hits = [v for k, v in inclusive.items() if re.search(pattern or ALLOC, k)]
        if hits and (name == "yrdx" or label.startswith(("SHA", "allocator"))):
            parts[label.strip()] = round((sum(hits) if pattern is None else max(hits)) / requests)
    report[name] = {
        "instructions_per_request": round(total / requests),
        "allocations_per_request": round(
            sum(n for k, n in calls.items() if re.search(ALLOCATING, k)) / requests, 1),
        "parts": parts,
        "load": json.load(open(f"{out}/{name}.load.json")),
    }
json.dump(report, open(f"{out}/instructions.json", "w"), indent=2)

y, f = report["yrdx"], report["floor"]
print(f"\nper request ({requests} keep-alive requests at {concurrency} connections, handshakes included):")
print(f"  instructions: yrdx {y['instructions_per_request']:,}, floor {f['instructions_per_request']:,} "
      f"({y['instructions_per_request'] / f['instructions_per_request']:.1f}x)")
print(f"  allocations:  yrdx {y['allocations_per_request']}, floor {f['allocations_per_request']}")
print("yrdx's instructions per request by part (inclusive):")
for label, _ in PARTS:
    v = y["parts"].get(label.strip())
    print(f"  {'-' if v is None else f'{v:,}':>9}  {label}")
print(f"floor: SHA-256 {f['parts'].get('SHA-256 compression, all callers (*)', 0):,}, "
      f"allocator {f['parts'].get('allocator: malloc, realloc, free', 0):,}")
print("(*) valgrind's CPU has no SHA extensions, so SHA-256 runs ring's AVX code here;"
      " on a CPU with them it costs a fraction of this.")
print(f"written to {out}/instructions.json")
PY
