#!/bin/sh
# Start one TrainingOps service, or run another command in the image.
#   trainingops-entrypoint                  -> the service named by $SERVICE
#   trainingops-entrypoint enrollment [...] -> that service (extra args go to uvicorn)
#   trainingops-entrypoint <command> [...]  -> exec the command (e.g. trainingops dlq list enrollment)
# Migrations are applied by the service itself at start (setting auto_migrate, default true).
set -e

SERVICES="enrollment attendance certification placement"

is_service() {
  for s in $SERVICES; do
    [ "$s" = "$1" ] && return 0
  done
  return 1
}

# The staff console: same image, its own app.
if [ "${1:-}" = "web" ] || { [ "$#" -eq 0 ] && [ "${SERVICE:-}" = "web" ]; }; then
  [ "$#" -gt 0 ] && shift
  exec uvicorn web.main:create_app --factory \
    --host 0.0.0.0 --port "${PORT:-8000}" \
    --proxy-headers --forwarded-allow-ips "*" \
    --no-access-log "$@"
fi

if [ "$#" -gt 0 ] && is_service "$1"; then
  SERVICE="$1"
  shift
elif [ "$#" -gt 0 ]; then
  exec "$@"
fi

if ! is_service "${SERVICE:-}"; then
  echo "trainingops: set SERVICE (or pass it as the command) to one of: $SERVICES; got '${SERVICE:-}'" >&2
  exit 64
fi

# The app writes one JSON access line per request itself, so uvicorn's own access log is off.
exec uvicorn "services.${SERVICE}.main:create_app" --factory \
  --host 0.0.0.0 --port "${PORT:-8000}" \
  --proxy-headers --forwarded-allow-ips "*" \
  --no-access-log "$@"
