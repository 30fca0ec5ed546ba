#!/usr/bin/env bash
# signe (C++) against the original @signe/room on Node: the same two rooms (examples/bench-rooms
# and bench/peer/server.mjs), the same load generator (signe-loadtest), each server pinned to
# core 0 and the generator to core 1, all traffic on 127.0.0.1. Every scenario runs RUNS times
# per server on a fresh server process; bench/summarize.mjs writes bench/RESULTS.md from the
# medians. Raw reports go to bench/results/.
#
#   bench/compare-node.sh                 # after `make test` (or its setup): ~15 minutes
#   RUNS=1 SCENARIOS="game-200 idle-10000" bench/compare-node.sh
#
# Environment: BUILD_DIR (default build), RUNS (3), SCENARIOS (all), DURATION (10 s of
# actions), SERVER_CPU (0), LOADTEST_CPU (1), QUIET_WAIT (300 s at most waiting for a quiet
# machine before each run), MICRO_BENCH (a signe-bench-micro binary to run too; default: the
# build's, when it was configured with -DSIGNE_BUILD_BENCH=ON).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
runs="${RUNS:-3}"
duration="${DURATION:-10}"
server_cpu="${SERVER_CPU:-0}"
loadtest_cpu="${LOADTEST_CPU:-1}"
quiet_wait="${QUIET_WAIT:-300}"
results="$root/bench/results"
all_scenarios="game-25 game-50 game-200 game-500 counter-100 idle-10000 connect-1000"
scenarios="${SCENARIOS:-$all_scenarios}"

# --- prerequisites ---------------------------------------------------------------------------
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
fi
cmake --build "$build" --target signe-bench-rooms signe-loadtest > /dev/null
cpp_server="$build/examples/signe-bench-rooms"
loadtest="$build/apps/signe-loadtest/signe-loadtest"
micro="${MICRO_BENCH:-$build/bench/signe-bench-micro}"
if [ ! -f "$root/bench/peer/node_modules/.package-lock.json" ] ||
   [ "$root/bench/peer/package-lock.json" -nt "$root/bench/peer/node_modules/.package-lock.json" ]; then
  (cd "$root/bench/peer" && npm ci --no-audit --no-fund --loglevel=error)
fi
command -v taskset > /dev/null || { echo "compare-node.sh: taskset (util-linux) is needed" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] || echo "compare-node.sh: fewer than 2 cores: server and generator will share one" >&2
ulimit -n 20000 2> /dev/null || ulimit -n "$(ulimit -Hn)"
mkdir -p "$results"

# --- helpers ---------------------------------------------------------------------------------

# Waits (at most QUIET_WAIT s) until the whole machine is at least 90% idle over one second, so
# that other programs do not distort the run.
wait_quiet() {
  local deadline=$((SECONDS + quiet_wait))
  while [ $SECONDS -lt $deadline ]; do
    local a b
    read -r -a a < <(grep '^cpu ' /proc/stat)
    sleep 1
    read -r -a b < <(grep '^cpu ' /proc/stat)
    local total=0 i
    for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
    local idle=$(((b[4] - a[4]) + (b[5] - a[5])))
    [ $total -gt 0 ] && [ $((100 * idle / total)) -ge 90 ] && return 0
  done
  echo "  (machine still busy after ${quiet_wait} s: running anyway)" >&2
}

server_pid=""
server_log=""
stop_server() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2> /dev/null || true
    wait "$server_pid" 2> /dev/null || true
    server_pid=""
  fi
}
trap stop_server EXIT

# Starts one server on a free port, pinned; sets server_pid and server_port.
start_server() {
  local kind=$1
  server_log=$(mktemp)
  if [ "$kind" = signe ]; then
    PORT=0 SIGNE_ADDRESS=127.0.0.1 SIGNE_THREADS=1 taskset -c "$server_cpu" "$cpp_server" > "$server_log" 2>&1 &
  else
    (cd "$root/bench/peer" && PORT=0 SIGNE_ADDRESS=127.0.0.1 exec taskset -c "$server_cpu" node server.mjs) > "$server_log" 2>&1 &
  fi
  server_pid=$!
  local i
  for i in $(seq 1 100); do
    server_port=$(grep -o 'listening on http://[^:]*:[0-9]*' "$server_log" | grep -o '[0-9]*$' || true)
    [ -n "$server_port" ] && return 0
    sleep 0.1
  done
  echo "compare-node.sh: $kind server did not start:" >&2
  cat "$server_log" >&2
  exit 1
}

# The load generator's arguments for a scenario.
scenario_args() {
  case $1 in
    game-25) echo "--url ws://127.0.0.1:PORT/parties/main/game-1 --clients 25 --rate 10 --duration $duration" ;;
    game-50) echo "--url ws://127.0.0.1:PORT/parties/main/game-1 --clients 50 --rate 10 --duration $duration" ;;
    game-200) echo "--url ws://127.0.0.1:PORT/parties/main/game-1 --clients 200 --rate 10 --duration $duration" ;;
    game-500) echo "--url ws://127.0.0.1:PORT/parties/main/game-1 --clients 500 --rate 10 --duration $duration" ;;
    counter-100) echo "--url ws://127.0.0.1:PORT/parties/main/counter --clients 100 --rate 20 --duration $duration" ;;
    idle-10000) echo "--url ws://127.0.0.1:PORT/parties/main/counter --scenario idle --clients 10000 --duration 5 --connect-timeout 120" ;;
    connect-1000) echo "--url ws://127.0.0.1:PORT/parties/main/counter --scenario idle --clients 1000 --duration 1" ;;
    *) echo "compare-node.sh: unknown scenario $1" >&2; exit 1 ;;
  esac
}

# One run; a run that other programs disturbed (over 0.3 CPU s of theirs) is retried twice.
run_one() {
  local kind=$1 scenario=$2 run=$3 attempt out args background
  out="$results/$kind-$scenario-$run.json"
  for attempt in 1 2 3; do
    wait_quiet
    start_server "$kind"
    args=$(scenario_args "$scenario")
    args=${args//PORT/$server_port}
    # shellcheck disable=SC2086
    taskset -c "$loadtest_cpu" "$loadtest" $args --server-pid "$server_pid" --session-prefix "$kind$run" --out "$out" > /dev/null
    stop_server
    background=$(node -e "const r=require('$out'); console.log(r.background_cpu_s ?? 0)")
    if node -e "process.exit(($background) > 0.3 ? 1 : 0)"; then
      return 0
    fi
    echo "  disturbed (background ${background} CPU s), again" >&2
  done
}

# --- runs ------------------------------------------------------------------------------------
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for scenario in $scenarios; do
  rm -f "$results"/*-"$scenario"-*.json  # this scenario's earlier runs
  for run in $(seq 1 "$runs"); do
    for kind in signe node; do
      echo "$scenario run $run: $kind"
      run_one "$kind" "$scenario" "$run"
    done
  done
done

# The generator's own capacity, against its in-process fake server (a thread of its own, so
# not pinned: the figure is per CPU second of the generator's thread).
echo "load generator self-test"
wait_quiet
"$loadtest" --self-test --clients 100 --duration 5 --out "$results/selftest.json" > /dev/null

if [ -x "$micro" ]; then
  echo "micro-benchmarks"
  wait_quiet
  taskset -c "$server_cpu" "$micro" --benchmark_min_time=0.5 --benchmark_format=json > "$results/micro.json" 2> /dev/null
fi

node "$root/bench/summarize.mjs" "$results" "$root/bench/RESULTS.md" \
  --started "$started" --duration "$duration" \
  --command "RUNS=$runs SCENARIOS=\"$scenarios\" bench/compare-node.sh" \
  --build-type "$(grep -o 'CMAKE_BUILD_TYPE:STRING=.*' "$build/CMakeCache.txt" | cut -d= -f2)"
echo "wrote bench/RESULTS.md"
