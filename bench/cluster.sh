#!/usr/bin/env bash
# Throughput of a cluster of yrdx nodes on one PostgreSQL database (one node
# and three, 16 and 64 keep-alive clients) and of the store's period-quota
# upserts alone: the capacity figures of docs/operations.md. It measures; no
# test asserts a time. The measurement itself is the cargo bench target
# gateway/benches/cluster_throughput.rs (optimised build); this runs it
# against the local PostgreSQL unless YRDX_TEST_DATABASE_URL names another.
set -euo pipefail
cd "$(dirname "$0")/.."
export YRDX_TEST_DATABASE_URL="${YRDX_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
exec cargo bench -p yrdx-gateway --bench cluster_throughput
