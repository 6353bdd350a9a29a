#!/usr/bin/env bash
# Restore drill: restores a dump into a scratch database, proves that every
# table holds the rows the archive holds (and, optionally, the rows of a
# quiescent source database), verifies the audit hash chain when this LHCMS
# has `lhcms audit verify`, then drops the scratch database. HIPAA
# 164.308(a)(7)(ii)(D): keep its log as the evidence of the test.
#
# Usage: ops/restore_drill.sh [dump.pgdump]   (default: the newest dump in BACKUP_DIR)
#
# Connection: libpq environment, as restore_database.sh (PGDATABASE = maintenance db).
# Settings:
#   BACKUP_DIR                  where to find the newest dump (default /backups/postgresql)
#   DRILL_SOURCE_DATABASE       also compare row counts with this database (only
#                               meaningful when nothing writes to it meanwhile)
#   LHCMS_HOME                  LHCMS installation whose CLI verifies the audit chain
#                               (default: this repository / the image's /app); the CLI
#                               needs the deployment's SECRET_KEY (or AUDIT_HMAC_KEY) and
#                               AUDIT_CHECKPOINT_DIR in the environment
#   DRILL_REQUIRE_AUDIT_VERIFY  1: fail when the CLI has no `audit verify` command
#   DRILL_KEEP                  1: keep the scratch database for inspection
#   METRICS_TEXTFILE_DIR        optional: lhcms_backup_restore_drill_* metrics
set -euo pipefail
umask 077
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=ops/lib.sh
source "$here/lib.sh"

[ $# -le 1 ] || die "usage: $0 [dump.pgdump]"
need psql pg_restore
BACKUP_DIR=${BACKUP_DIR:-/backups/postgresql}
dump=${1:-}
if [ -z "$dump" ]; then
  dump=$(find "$BACKUP_DIR" -maxdepth 1 -type f -name 'lhcms_*.pgdump' -printf '%T@ %p\n' 2>/dev/null |
    sort -rn | head -1 | cut -d' ' -f2-)
  [ -n "$dump" ] || die "no lhcms_*.pgdump in $BACKUP_DIR"
fi
maint=${PGDATABASE:-postgres}
scratch="lhcms_drill_$(date -u +%Y%m%d%H%M%S)_$$"
work=$(mktemp -d)
cleanup() {
  if [ "${DRILL_KEEP:-0}" != 1 ]; then
    psql -X -q -d "$maint" -c "DROP DATABASE IF EXISTS \"$scratch\" WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

started=$(date +%s)
log "drill start file=$dump scratch=$scratch"
"$here/restore_database.sh" "$dump" "$scratch"

# Row counts: the scratch database against the archive's own content.
if [ -f "$dump.rowcounts" ]; then
  cp "$dump.rowcounts" "$work/expected"
else
  archive_row_counts "$dump" >"$work/expected"
fi
PGDATABASE=$scratch database_row_counts "$scratch" >"$work/restored"
if ! diff -u "$work/expected" "$work/restored" >"$work/diff"; then
  cat "$work/diff" >&2
  die "row counts of the restored database differ from the archive"
fi
log "row counts match the archive: $(wc -l <"$work/restored") tables, $(awk -F'\t' '{ s += $2 } END { print s + 0 }' "$work/restored") rows"

if [ -n "${DRILL_SOURCE_DATABASE:-}" ]; then
  PGDATABASE=$DRILL_SOURCE_DATABASE database_row_counts "$DRILL_SOURCE_DATABASE" >"$work/source"
  if ! diff -u "$work/source" "$work/restored" >"$work/diff"; then
    cat "$work/diff" >&2
    die "row counts of the restored database differ from $DRILL_SOURCE_DATABASE"
  fi
  log "row counts match the source database $DRILL_SOURCE_DATABASE"
fi

# Audit hash chain (docs/hipaa.md): hook for `lhcms audit verify`, run when
# the installed CLI offers it.
home=${LHCMS_HOME:-$(cd "$here/.." && pwd)}
cli="$home/dist/apps/api/src/cli.js"
audit_verified=0
if command -v node >/dev/null 2>&1 && [ -f "$cli" ]; then
  usage=$(cd "$work" && { node "$cli" 2>&1 || true; })
  if grep -Eq '(^|[^a-z])audit([^a-z]|$)' <<<"$usage"; then
    scratch_url="postgresql://${PGUSER:-$(id -un)}@${PGHOST:-localhost}:${PGPORT:-5432}/$scratch"
    # The password, if any, reaches node-postgres through PGPASSWORD (environment, not argv).
    if (cd "$work" && NODE_ENV=test DATABASE_URL="$scratch_url" DATABASE_OWNER_URL="$scratch_url" \
      node "$cli" audit verify); then
      audit_verified=1
      log "audit chain verified on the restored database"
    else
      die "audit chain verification failed on the restored database"
    fi
  fi
fi
if [ "$audit_verified" = 0 ]; then
  [ "${DRILL_REQUIRE_AUDIT_VERIFY:-0}" != 1 ] || die "no \`lhcms audit verify\` available at $cli"
  log "audit chain verification skipped: $cli has no \`audit verify\` command (yet)"
fi

seconds=$(($(date +%s) - started))
write_textfile_metric lhcms_backup_restore_drill.prom <<METRICS
# HELP lhcms_backup_restore_drill_last_success_timestamp_seconds Unix time of the last successful restore drill.
# TYPE lhcms_backup_restore_drill_last_success_timestamp_seconds gauge
lhcms_backup_restore_drill_last_success_timestamp_seconds $(date +%s)
# HELP lhcms_backup_restore_drill_duration_seconds Wall-clock time of the last restore drill (restore time objective evidence).
# TYPE lhcms_backup_restore_drill_duration_seconds gauge
lhcms_backup_restore_drill_duration_seconds $seconds
METRICS
log "drill ok file=$dump seconds=$seconds audit_chain=$([ "$audit_verified" = 1 ] && echo verified || echo skipped)"
