#!/usr/bin/env bash
# One deployment on loopback: Redis, a World (its registry in Redis), two room servers running the
# game (each room placed on one of them through Redis, their storage in Redis too) and two shard
# processes that carry clients to the room's server. Ctrl-C stops everything.
#
#   examples/world-shards/run.sh [build-dir]          # serves until Ctrl-C
#   examples/world-shards/run.sh [build-dir] --check  # starts, checks the path end to end, stops
#
# Browsers and connectionWorld use a shard's address (it forwards /parties/world to the World):
#   connectionWorld({host: "http://127.0.0.1:4001", room: "game-1", worldId: "world-default"}, state)
set -euo pipefail

build=${1:-build}
check=${2:-}
here=$(cd "$(dirname "$0")/../.." && pwd)
case "$build" in /*) ;; *) build="$here/$build" ;; esac
bin() { echo "$build/$1"; }

REDIS_PORT=${REDIS_PORT:-6399}
WORLD_PORT=${WORLD_PORT:-3002}
ROOM_PORT=${ROOM_PORT:-3003}
ROOM2_PORT=${ROOM2_PORT:-3004}
SHARD1_PORT=${SHARD1_PORT:-4001}
SHARD2_PORT=${SHARD2_PORT:-4002}
export AUTH_JWT_SECRET=${AUTH_JWT_SECRET:-local-world-jwt-secret-change-me}
export SHARD_SECRET=${SHARD_SECRET:-local-shard-secret-change-me}

work=$(mktemp -d)
pids=()
stop() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap stop EXIT INT TERM

# Waits until a TCP port accepts connections (the programs print their port once listening).
wait_port() {
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2
  return 1
}

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
pids+=($!)
wait_port "$REDIS_PORT"

"$(bin apps/signe-world/signe-world)" --port="$WORLD_PORT" --registry="redis://127.0.0.1:$REDIS_PORT" &
pids+=($!)
redis="redis://127.0.0.1:$REDIS_PORT"
for port in "$ROOM_PORT" "$ROOM2_PORT"; do
  SIGNE_STORAGE="$redis" SIGNE_PLACEMENT="$redis" PORT="$port" "$(bin examples/signe-example-game)" &
  pids+=($!)
done
wait_port "$WORLD_PORT"
wait_port "$ROOM_PORT"
wait_port "$ROOM2_PORT"
for port in "$SHARD1_PORT" "$SHARD2_PORT"; do
  "$(bin apps/signe-shard/signe-shard)" --port="$port" \
    --upstream="http://127.0.0.1:$ROOM_PORT,http://127.0.0.1:$ROOM2_PORT" --placement="$redis" \
    --world="http://127.0.0.1:$WORLD_PORT" --stats-interval=5000 &
  pids+=($!)
  wait_port "$port"
done

echo "world http://127.0.0.1:$WORLD_PORT, room servers :$ROOM_PORT :$ROOM2_PORT, shards :$SHARD1_PORT :$SHARD2_PORT, redis :$REDIS_PORT"

if [ "$check" = "--check" ]; then
  # Ask the World through each shard, then read the room's state through the shard it chose.
  node --input-type=module -e "
    for (const port of [$SHARD1_PORT, $SHARD2_PORT]) {
      const res = await fetch('http://127.0.0.1:' + port + '/parties/world/world-default/connect', {
        method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({roomId: 'game-1'}) });
      const placed = await res.json();
      if (!placed.success) throw new Error('connect failed: ' + JSON.stringify(placed));
      const state = await fetch('http://127.0.0.1:' + port + '/parties/shard/' + encodeURIComponent(placed.url) + '/state');
      if (state.status !== 200) throw new Error('state through the shard: ' + state.status);
      console.log('shard :' + port + ' ->', placed.shardId, JSON.stringify(await state.json()));
    }
    // The room lives on one room server; asked of either, the answer is the same room's.
    const views = [];
    for (const port of [$ROOM_PORT, $ROOM2_PORT]) {
      const res = await fetch('http://127.0.0.1:' + port + '/parties/main/game-1/state');
      if (res.status !== 200) throw new Error('state from room server :' + port + ': ' + res.status);
      views.push(JSON.stringify(await res.json()));
    }
    if (views[0] !== views[1]) throw new Error('the room servers disagree: ' + views.join(' vs '));
    console.log('game-1 through both room servers:', views[0]);"
  holder=$(redis-cli -p "$REDIS_PORT" GET "signe:placement:{rooms}:claim:main/game-1")
  echo "game-1 is held by room server $(redis-cli -p "$REDIS_PORT" GET "signe:placement:{rooms}:member:$holder")"
  echo "world-shards check ok"
  exit 0
fi
wait
