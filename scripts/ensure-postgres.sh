#!/usr/bin/env bash
# Make sure PostgreSQL answers on 127.0.0.1:5432 for the tests (LP_TEST_POSTGRES_ADMIN_URL).
# Starts an installed cluster that is down; on a cluster this script had to create or start,
# local TCP connections are trusted so the tests can connect as `postgres` without a password.
set -euo pipefail
host=127.0.0.1
port=5432
ready() { pg_isready -q -h "$host" -p "$port"; }
if ready; then
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$version" ]; then
  version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  $SUDO pg_createcluster "$version" main >/dev/null
fi
conf=/etc/postgresql/$version/main
if ! grep -q "listening-post tests" "$conf/pg_hba.conf"; then
  $SUDO sh -c "printf '%s\n' '# listening-post tests: trust loopback' \
    'host all all 127.0.0.1/32 trust' 'host all all ::1/128 trust' \
    | cat - '$conf/pg_hba.conf' > '$conf/pg_hba.new' && mv '$conf/pg_hba.new' '$conf/pg_hba.conf'"
  $SUDO chown postgres:postgres "$conf/pg_hba.conf"
fi
$SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
for _ in $(seq 1 30); do
  ready && exit 0
  sleep 1
done
echo "PostgreSQL did not start on $host:$port" >&2
exit 1
