#!/bin/sh
# Runs once, when the postgres container starts with an empty data volume
# (mounted into /docker-entrypoint-initdb.d/). One role and one database per service,
# each service owning its own database and nothing else (web: the console's session store): a service never reads
# another's tables. Passwords come from <SERVICE>_DB_PASSWORD (see .env.example).
# To change a password later: ALTER ROLE ... PASSWORD ... and update .env.
set -e

for service in enrollment attendance certification placement web; do
  var="$(echo "$service" | tr 'a-z' 'A-Z')_DB_PASSWORD"
  eval "password=\${$var:-}"
  if [ -z "$password" ]; then
    echo "init.sh: $var is not set" >&2
    exit 1
  fi
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
       -v service="$service" -v password="$password" <<'SQL'
CREATE ROLE :"service" LOGIN PASSWORD :'password';
CREATE DATABASE :"service" OWNER :"service" ENCODING 'UTF8';
REVOKE ALL ON DATABASE :"service" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"service" TO :"service";
SQL
  echo "init.sh: database and role '$service' created"
done
