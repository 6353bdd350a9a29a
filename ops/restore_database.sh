#!/usr/bin/env bash
# Restores an LHCMS dump into a NEW database (never over an existing one).
#
# Usage: ops/restore_database.sh <dump.pgdump> <new database name>
#
# Connection: libpq environment (PGHOST PGPORT PGUSER, PGPASSWORD/PGPASSFILE/PGSERVICE);
# PGDATABASE is the maintenance database used to create the new one (default postgres).
# The role needs CREATEDB (and the dump's roles must exist, unless RESTORE_NO_OWNER=1).
# Settings:
#   RESTORE_OWNER     owner of the new database (default: the connecting role)
#   RESTORE_NO_OWNER  1: restore without ownership and grants (another cluster whose
#                     roles differ); then grant the application role by re-running migrations
#   RESTORE_JOBS      parallel restore jobs (default 2)
# Afterwards point DATABASE_URL/DATABASE_OWNER_URL at the new database, or swap names.
set -euo pipefail
umask 077
# shellcheck source=ops/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ $# -eq 2 ] || die "usage: $0 <dump.pgdump> <new database name>"
dump=$1
target=$2
require_libpq_env "$dump" "$target"
need pg_restore psql createdb sha256sum
[ -f "$dump" ] || die "no such dump: $dump"
[[ "$target" =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || die "database name must match [a-z_][a-z0-9_]*: $target"
maint=${PGDATABASE:-postgres}

if [ -f "$dump.sha256" ]; then
  expected=$(awk '{ print $1 }' "$dump.sha256")
  actual=$(sha256sum "$dump" | awk '{ print $1 }')
  [ "$expected" = "$actual" ] || die "checksum mismatch for $dump"
  log "checksum ok $dump"
fi
pg_restore --list "$dump" >/dev/null || die "pg_restore --list cannot read $dump"

exists=$(psql -X -A -t -q -v ON_ERROR_STOP=1 -d "$maint" -c "SELECT 1 FROM pg_database WHERE datname = '$target'")
[ -z "$exists" ] || die "database $target exists: restore into a new database only"

started=$(date +%s)
owner_args=()
[ -n "${RESTORE_OWNER:-}" ] && owner_args=(--owner="$RESTORE_OWNER")
createdb --maintenance-db="$maint" --template=template0 --encoding=UTF8 "${owner_args[@]}" "$target"
log "restore start file=$dump database=$target"

restore_args=(--exit-on-error --no-password --jobs="${RESTORE_JOBS:-2}" --dbname="$target")
[ "${RESTORE_NO_OWNER:-0}" = 1 ] && restore_args+=(--no-owner --no-privileges)
if ! pg_restore "${restore_args[@]}" "$dump"; then
  log "restore failed: dropping the half-restored database $target"
  psql -X -q -d "$maint" -c "DROP DATABASE IF EXISTS \"$target\" WITH (FORCE)" || true
  die "restore of $dump failed"
fi
psql -X -q -v ON_ERROR_STOP=1 -d "$target" -c "ANALYZE" >/dev/null
log "restore ok file=$dump database=$target seconds=$(($(date +%s) - started))"
