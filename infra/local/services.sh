#!/usr/bin/env bash
# Local services for development and tests: a real Apache Kafka broker (KRaft, single node, jars
# from Maven Central), and PostgreSQL and Redis when they are not already running.
#   infra/local/services.sh up      start whatever is missing, wait until each accepts connections
#   infra/local/services.sh down    stop the Kafka broker this script started (PostgreSQL/Redis are
#                                   the machine's; they are left alone)
#   infra/local/services.sh status  report each service truthfully; exit 1 if any is down
#   infra/local/services.sh env     print the REWARDS_* environment for these services
# Logs go to $REWARDS_LOCAL_HOME/run/*.log, never to the terminal.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$HERE/kafka/pom.xml")"
POM_HASH="$(sha256sum "$HERE/kafka/pom.xml" | cut -c1-12)"
LOCAL_HOME="${REWARDS_LOCAL_HOME:-$HOME/.cache/rewards-local}"
LIBS_DIR="$LOCAL_HOME/kafka-$KAFKA_VERSION-$POM_HASH/libs"
RUN_DIR="$LOCAL_HOME/run"
KAFKA_DATA="$RUN_DIR/kafka-data"
KAFKA_PID="$RUN_DIR/kafka.pid"
KAFKA_LOG="$RUN_DIR/kafka.log"
KAFKA_HOST=127.0.0.1
KAFKA_PORT="${REWARDS_LOCAL_KAFKA_PORT:-9092}"
CONTROLLER_PORT="${REWARDS_LOCAL_CONTROLLER_PORT:-9093}"
PG_HOST=127.0.0.1 PG_PORT=5432 PG_DB=test
REDIS_HOST=127.0.0.1 REDIS_PORT=6379
NODE="${NODE:-node}"

say() { printf '%s\n' "$*" >&2; }
fail() { say "services: $*"; exit 1; }

port_listener() { # prints "pid/name" of whatever listens on the port, or nothing
  ss -ltnpH "sport = :$1" 2>/dev/null | sed -n 's/.*users:(("\([^"]*\)",pid=\([0-9]*\).*/\2\/\1/p' | head -1
}
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

kafka_pid_alive() { [[ -f "$KAFKA_PID" ]] && kill -0 "$(cat "$KAFKA_PID")" 2>/dev/null; }
kafka_ready() { "$NODE" "$HERE/kafka-probe.mjs" "$KAFKA_HOST:$KAFKA_PORT" 2000 >/dev/null 2>&1; }
pg_ready() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -d "$PG_DB" 2>/dev/null; }
redis_ready() { [[ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]; }

wait_for() { # name seconds check-function
  local name=$1 seconds=$2 check=$3 i
  for ((i = 0; i < seconds * 5; i++)); do
    if $check; then return 0; fi
    sleep 0.2
  done
  return 1
}

fetch_kafka_libs() {
  [[ -f "$LIBS_DIR/.complete" ]] && return 0
  command -v mvn >/dev/null || fail "kafka: Maven (mvn) is needed to fetch the broker jars; install Maven and Java 17+, or point REWARDS_KAFKA_BROKERS at an existing broker"
  say "kafka: fetching Apache Kafka $KAFKA_VERSION jars from Maven Central into $LIBS_DIR"
  rm -rf "$LIBS_DIR"; mkdir -p "$LIBS_DIR"
  mvn -B -q -f "$HERE/kafka/pom.xml" \
    org.apache.maven.plugins:maven-dependency-plugin:3.11.0:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$LIBS_DIR" >"$RUN_DIR/maven.log" 2>&1 \
    || fail "kafka: Maven could not fetch the broker jars (see $RUN_DIR/maven.log)"
  touch "$LIBS_DIR/.complete"
}

kafka_up() {
  if kafka_ready; then
    if kafka_pid_alive; then say "kafka: already running on $KAFKA_HOST:$KAFKA_PORT (pid $(cat "$KAFKA_PID"))"
    else say "kafka: a broker not started by this script answers on $KAFKA_HOST:$KAFKA_PORT; using it"; fi
    return 0
  fi
  if kafka_pid_alive; then
    say "kafka: pid $(cat "$KAFKA_PID") is starting; waiting"
  else
    for port in "$KAFKA_PORT" "$CONTROLLER_PORT"; do
      if port_open "$KAFKA_HOST" "$port"; then
        fail "kafka: port $port is taken by $(port_listener "$port" || true) which is not a working Kafka broker; free it or set REWARDS_LOCAL_KAFKA_PORT/REWARDS_LOCAL_CONTROLLER_PORT"
      fi
    done
    command -v java >/dev/null || fail "kafka: Java 17+ is needed to run the local broker"
    fetch_kafka_libs
    mkdir -p "$KAFKA_DATA"
    sed -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" -e "s|@CONTROLLER_PORT@|$CONTROLLER_PORT|g" \
        -e "s|@DATA_DIR@|$KAFKA_DATA|g" "$HERE/kafka/server.properties.template" >"$RUN_DIR/server.properties"
    if [[ ! -f "$KAFKA_DATA/meta.properties" ]]; then
      local cluster_id
      cluster_id="$(java -cp "$LIBS_DIR/*" kafka.tools.StorageTool random-uuid 2>>"$KAFKA_LOG")"
      java -cp "$LIBS_DIR/*" -Dlog4j2.configurationFile="$HERE/kafka/log4j2.properties" \
        kafka.tools.StorageTool format -t "$cluster_id" -c "$RUN_DIR/server.properties" \
        --standalone --ignore-formatted >>"$KAFKA_LOG" 2>&1 \
        || fail "kafka: formatting the storage failed (see $KAFKA_LOG)"
    fi
    say "kafka: starting Apache Kafka $KAFKA_VERSION on $KAFKA_HOST:$KAFKA_PORT (log: $KAFKA_LOG)"
    # setsid: the broker outlives the shell (and the test run) that started it.
    setsid java -Xms512m -Xmx768m -XX:+UseG1GC -XX:TieredStopAtLevel=1 \
      -Dlog4j2.configurationFile="$HERE/kafka/log4j2.properties" \
      -cp "$LIBS_DIR/*" kafka.Kafka "$RUN_DIR/server.properties" >>"$KAFKA_LOG" 2>&1 </dev/null &
    echo $! >"$KAFKA_PID"
  fi
  if ! wait_for kafka 90 kafka_ready; then
    kafka_pid_alive || fail "kafka: the broker exited during start-up; last lines of $KAFKA_LOG:
$(tail -n 15 "$KAFKA_LOG")"
    fail "kafka: no answer on $KAFKA_HOST:$KAFKA_PORT after 90 s (see $KAFKA_LOG)"
  fi
  say "kafka: ready"
}

kafka_down() {
  if ! kafka_pid_alive; then say "kafka: not started by this script; nothing to stop"; rm -f "$KAFKA_PID"; return 0; fi
  local pid; pid="$(cat "$KAFKA_PID")"
  kill -TERM "$pid"
  for ((i = 0; i < 300; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then say "kafka: still running after 60 s; killing"; kill -KILL "$pid"; fi
  rm -f "$KAFKA_PID"
  say "kafka: stopped"
}

pg_up() {
  if pg_ready; then say "postgresql: already running on $PG_HOST:$PG_PORT"; return 0; fi
  if port_open "$PG_HOST" "$PG_PORT"; then fail "postgresql: port $PG_PORT is taken by $(port_listener "$PG_PORT" || true) which does not answer as PostgreSQL"; fi
  [[ -d /etc/postgresql ]] || fail "postgresql: not installed here; set REWARDS_DATABASE_URL to a reachable server"
  say "postgresql: starting"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start >"$RUN_DIR/postgresql-start.log" 2>&1 \
    || fail "postgresql: pg_ctlcluster failed (see $RUN_DIR/postgresql-start.log)"
  wait_for postgresql 30 pg_ready || fail "postgresql: no answer on $PG_HOST:$PG_PORT after 30 s"
  say "postgresql: ready"
}

redis_up() {
  if redis_ready; then say "redis: already running on $REDIS_HOST:$REDIS_PORT"; return 0; fi
  if port_open "$REDIS_HOST" "$REDIS_PORT"; then fail "redis: port $REDIS_PORT is taken by $(port_listener "$REDIS_PORT" || true) which does not answer PING"; fi
  command -v redis-server >/dev/null || fail "redis: not installed here; set REWARDS_REDIS_URL to a reachable server"
  say "redis: starting"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log >"$RUN_DIR/redis-start.log" 2>&1 \
    || fail "redis: redis-server failed to start (see $RUN_DIR/redis-start.log)"
  wait_for redis 15 redis_ready || fail "redis: no answer on $REDIS_HOST:$REDIS_PORT after 15 s"
  say "redis: ready"
}

print_env() {
  cat <<ENV
export REWARDS_KAFKA_BROKERS=$KAFKA_HOST:$KAFKA_PORT
export REWARDS_DATABASE_URL=postgresql://postgres@$PG_HOST:$PG_PORT/$PG_DB
export REWARDS_REDIS_URL=redis://$REDIS_HOST:$REDIS_PORT
ENV
}

status() {
  local bad=0
  if kafka_ready; then
    if kafka_pid_alive; then echo "kafka:      up   $KAFKA_HOST:$KAFKA_PORT (Apache Kafka $KAFKA_VERSION, pid $(cat "$KAFKA_PID"))"
    else echo "kafka:      up   $KAFKA_HOST:$KAFKA_PORT (not started by this script)"; fi
  elif kafka_pid_alive; then echo "kafka:      starting or unhealthy (pid $(cat "$KAFKA_PID"), no metadata answer; see $KAFKA_LOG)"; bad=1
  elif port_open "$KAFKA_HOST" "$KAFKA_PORT"; then echo "kafka:      broken: port $KAFKA_PORT taken by $(port_listener "$KAFKA_PORT" || true), not a Kafka broker"; bad=1
  else echo "kafka:      down"; bad=1; fi
  if pg_ready; then echo "postgresql: up   $PG_HOST:$PG_PORT/$PG_DB"
  elif port_open "$PG_HOST" "$PG_PORT"; then echo "postgresql: broken: port $PG_PORT taken by $(port_listener "$PG_PORT" || true), not answering as PostgreSQL"; bad=1
  else echo "postgresql: down"; bad=1; fi
  if redis_ready; then echo "redis:      up   $REDIS_HOST:$REDIS_PORT"
  elif port_open "$REDIS_HOST" "$REDIS_PORT"; then echo "redis:      broken: port $REDIS_PORT taken by $(port_listener "$REDIS_PORT" || true), not answering PING"; bad=1
  else echo "redis:      down"; bad=1; fi
  return $bad
}

mkdir -p "$RUN_DIR"
case "${1:-}" in
  up) pg_up; redis_up; kafka_up; print_env ;;
  down) kafka_down ;;
  status) status ;;
  env) print_env ;;
  *) say "usage: $0 up|down|status|env"; exit 2 ;;
esac
