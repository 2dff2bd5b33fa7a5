# Shared by the bench scripts (sourced, not run): tools, binaries, and the demo
# federation they measure against. The sourcing script sets OUT (its output
# folder) and runs from the repository's root.

need() { command -v "$1" >/dev/null 2>&1; }

# install_missing command:package ...: installs the packages whose command is
# missing, from the system's package manager.
install_missing() {
  local missing=() pair
  for pair in "$@"; do need "${pair%%:*}" || missing+=("${pair#*:}"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing ${missing[*]}"
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# Sets YRDX, LOAD and PASSTHROUGH: the binaries in BIN_DIR when given (built
# earlier, e.g. to compare two commits), else a fresh build of PROFILE.
binaries() {
  local profile=${PROFILE:-release} bin b
  if [ -n "${BIN_DIR:-}" ]; then
    echo "== using the binaries in $BIN_DIR"
    bin=$BIN_DIR
  else
    echo "== building ($profile)"
    if [ "$profile" = release ]; then
      cargo build --release -q -p yrdx-gateway -p yrdx-conformance --bins --example passthrough
    else
      cargo build -q -p yrdx-gateway -p yrdx-conformance --bins --example passthrough
    fi
    bin=target/$profile
  fi
  YRDX=$bin/yrdx
  LOAD=$bin/yrdx-load
  PASSTHROUGH=$bin/passthrough
  [ -x "$PASSTHROUGH" ] || PASSTHROUGH=$bin/examples/passthrough
  for b in "$YRDX" "$LOAD" "$PASSTHROUGH"; do
    [ -x "$b" ] || { echo "missing binary: $b" >&2; exit 1; }
  done
}

# Processes to stop on exit; a script's own trap calls stop_started.
PIDS=()
stop_started() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
}

wait_for() { # file or host:port
  for _ in $(seq 1 "${WAIT_TRIES:-200}"); do
    if [[ "$1" == *:* ]]; then (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null && return 0
    else [ -s "$1" ] && return 0; fi
    sleep 0.1
  done
  echo "timed out waiting for $1" >&2; exit 1
}

# federation gateway-port provider-port-base: the demo federation (PKI,
# registry, sample providers) in $OUT/env, and its registry copied to
# bench-registry with the measured entry's quota raised out of reach, so that
# quotas are checked on every call but never refuse one. Sets ENV, PROVIDER
# (Zhejiang's enterprise API), CA, MEMBER_CERT/KEY (a Jiangsu member) and
# UP_CERT/KEY (the gateway's upstream identity).
federation() {
  ENV="$OUT/env"
  echo "== the federation: PKI, registry, and sample providers on ports $2-$(($2 + 3))"
  rm -rf "$ENV" && mkdir -p "$ENV"
  YRDX_LOG=error $YRDX demo --dir "$ENV" --listen "127.0.0.1:$1" --provider-port-base "$2" >"$OUT/demo.log" 2>&1 &
  PIDS+=($!)
  wait_for "$ENV/demo.json"
  PROVIDER=127.0.0.1:$(($2 + 2))   # Zhejiang
  local pki="$ENV/pki"
  CA="$pki/ca-bundle.pem"
  MEMBER_CERT="$pki/members/js_11320000014000118J_data.pem"
  MEMBER_KEY="$pki/members/js_11320000014000118J_data.key"
  UP_CERT="$pki/gateway/upstream.pem"
  UP_KEY="$pki/gateway/upstream.key"
  mkdir -p "$ENV/bench-registry"
  cp "$ENV"/registry/*.toml "$ENV/bench-registry/"
  sed -i 's/quota = { per_second = 20, burst = 40, per_day = 10000, per_month = 200000 }/quota = { per_second = 1000000, burst = 1000000, per_day = 1000000000, per_month = 1000000000 }/' \
    "$ENV/bench-registry/responsibility-list.toml"
}

# The request measured: the provider's own API, and the same through yrdx.
NATIVE_PATH=/openapi/v1/enterprise/basic
NATIVE_BODY='{"creditCode":"91330106MA27Y9KE3E"}'
EXCHANGE_PATH=/v1/exchange/YRD-SCJG-0001
EXCHANGE_BODY='{"key":{"uscc":"91330106MA27Y9KE3E"},"purpose":"市场主体登记核验"}'

node_config() { # name exchange-port admin-port store-url
  sed -e "s|^node = .*|node = \"$1\"|" \
      -e "s|^exchange = .*|exchange = \"127.0.0.1:$2\"|" \
      -e "s|^admin = .*|admin = \"127.0.0.1:$3\"|" \
      -e "s|^url = .*|url = \"$4\"|" \
      -e "s|\"registry/|\"bench-registry/|g" \
      "$ENV/yrdx.toml" >"$ENV/$1.toml"
  # Idle connections may wait for their first request as long as nginx lets them.
  printf '\n[limits]\nheader_read_timeout_ms = 60000\n' >>"$ENV/$1.toml"
}
