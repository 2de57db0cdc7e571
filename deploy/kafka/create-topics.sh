#!/bin/sh
# One-shot job (compose service "topics", apache/kafka image): create every TrainingOps
# topic if it does not exist, then (re)apply the retention settings, so a changed
# TOPIC_RETENTION_MS takes effect on the next `docker compose up`.
# Partitions are only set at creation: adding partitions later moves keys to other
# partitions and breaks per-trainee ordering for in-flight events (see deploy/README.md).
set -eu

BIN=${KAFKA_BIN:-/opt/kafka/bin}
BOOTSTRAP_SERVERS=${BOOTSTRAP_SERVERS:-kafka:9092}
TOPIC_PARTITIONS=${TOPIC_PARTITIONS:-3}
TOPIC_REPLICATION_FACTOR=${TOPIC_REPLICATION_FACTOR:-1}
TOPIC_RETENTION_MS=${TOPIC_RETENTION_MS:-2592000000}
DLQ_RETENTION_MS=${DLQ_RETENTION_MS:-7776000000}
: "${EVENT_TOPICS:?EVENT_TOPICS is not set}"
: "${DLQ_TOPICS:?DLQ_TOPICS is not set}"
: "${RETRY_TOPICS:?RETRY_TOPICS is not set}"

for n in "$TOPIC_PARTITIONS" "$TOPIC_REPLICATION_FACTOR" "$TOPIC_RETENTION_MS" "$DLQ_RETENTION_MS"; do
  case "$n" in
    ''|*[!0-9-]*) echo "topics: '$n' is not a number (TOPIC_PARTITIONS / *_RETENTION_MS)" >&2; exit 2 ;;
  esac
done

tries=0
until "$BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP_SERVERS" --list > /dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -ge 30 ]; then
    echo "topics: broker $BOOTSTRAP_SERVERS not reachable" >&2
    exit 1
  fi
  sleep 2
done

ensure() {
  topic=$1
  retention=$2
  "$BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP_SERVERS" --create --if-not-exists \
    --topic "$topic" --partitions "$TOPIC_PARTITIONS" --replication-factor "$TOPIC_REPLICATION_FACTOR" \
    --config retention.ms="$retention"
  "$BIN/kafka-configs.sh" --bootstrap-server "$BOOTSTRAP_SERVERS" --alter \
    --entity-type topics --entity-name "$topic" --add-config retention.ms="$retention" > /dev/null
  echo "topics: $topic ready (retention.ms=$retention)"
}

for topic in $EVENT_TOPICS; do ensure "$topic" "$TOPIC_RETENTION_MS"; done
for topic in $DLQ_TOPICS; do ensure "$topic" "$DLQ_RETENTION_MS"; done
# replayed dead letters (trainingops dlq replay -> trainingops.<consumer>.retry): kept as long as the DLQs
for topic in $RETRY_TOPICS; do ensure "$topic" "$DLQ_RETENTION_MS"; done

"$BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP_SERVERS" --describe --topic 'trainingops\..*' | grep -v '^\s*Topic:.*Partition:' || true
