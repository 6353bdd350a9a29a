#!/usr/bin/env bash
# Logical backup of the LHCMS database: pg_dump custom format, verified, then
# optionally uploaded to S3, with retention and a last-success metric.
#
# Usage: ops/backup_database.sh            (no arguments: everything comes from the environment)
#
# Connection (libpq environment; never on the command line, where `ps` shows it):
#   PGHOST PGPORT PGUSER PGDATABASE (default lhcms), and PGPASSWORD or
#   PGPASSFILE (.pgpass) or PGSERVICE; PGSSLMODE=verify-full in production.
#   The role needs to read every row: pg_read_all_data and BYPASSRLS (the cases
#   table forces row-level security).
# Settings:
#   BACKUP_DIR            where dumps go (default /backups/postgresql)
#   RETENTION_DAYS        delete this script's dumps older than this (default 30; 0 keeps all)
#   BACKUP_EXPECT_TABLES  tables the archive must contain (default "public.cases public.typeorm_migrations")
#   BACKUP_S3_URI         optional s3://bucket/prefix: upload with the aws CLI (SSE-KMS)
#   BACKUP_S3_SSE         server-side encryption for the upload (default aws:kms)
#   METRICS_TEXTFILE_DIR  optional node_exporter textfile directory for
#                         lhcms_backup_last_success_timestamp_seconds (alerted on by LHCMSBackupStale)
# Output: <BACKUP_DIR>/lhcms_<db>_<UTC timestamp>.pgdump, with .sha256 and
# .rowcounts (rows per table, read from the archive) beside it; the last line
# on stdout is the dump's path.
set -euo pipefail
umask 077
# shellcheck source=ops/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ $# -eq 0 ] || die "usage: $0 (configuration through the environment, see the header)"
need pg_dump pg_restore psql sha256sum flock awk
export PGDATABASE=${PGDATABASE:-lhcms}
BACKUP_DIR=${BACKUP_DIR:-/backups/postgresql}
RETENTION_DAYS=${RETENTION_DAYS:-30}
BACKUP_EXPECT_TABLES=${BACKUP_EXPECT_TABLES:-public.cases public.typeorm_migrations}
[[ "$RETENTION_DAYS" =~ ^[0-9]+$ ]] || die "RETENTION_DAYS must be a number of days"

mkdir -p "$BACKUP_DIR"
exec 9>"$BACKUP_DIR/.backup.lock"
flock -n 9 || die "another backup is running in $BACKUP_DIR"

started=$(date +%s)
stamp=$(date -u +%Y%m%dT%H%M%SZ)
name="lhcms_${PGDATABASE}_${stamp}.pgdump"
final="$BACKUP_DIR/$name"
partial="$BACKUP_DIR/.${name}.partial"
trap 'rm -f "$partial" "$partial.toc" "$partial.rowcounts"' EXIT

log "backup start database=$PGDATABASE host=${PGHOST:-local} file=$final"
pg_dump --format=custom --compress=9 --no-password --file="$partial"

# Verify 1: the archive's table of contents parses and has the expected tables.
pg_restore --list "$partial" >"$partial.toc" || die "pg_restore --list cannot read the archive"
for t in $BACKUP_EXPECT_TABLES; do
  grep -Eq "TABLE DATA ${t%%.*} ${t#*.} " "$partial.toc" || die "archive has no data for table $t"
done
# Verify 2: a full read of every data block (and the rows per table it holds).
archive_row_counts "$partial" >"$partial.rowcounts" || die "full read of the archive failed"
[ -s "$partial.rowcounts" ] || die "the archive holds no table data"

bytes=$(stat -c %s "$partial")
sha256sum "$partial" | awk -v n="$name" '{ print $1 "  " n }' >"$final.sha256"
mv -f "$partial.rowcounts" "$final.rowcounts"
mv -f "$partial" "$final"

if [ -n "${BACKUP_S3_URI:-}" ]; then
  need aws
  for f in "$final" "$final.sha256" "$final.rowcounts"; do
    aws s3 cp --only-show-errors --sse "${BACKUP_S3_SSE:-aws:kms}" "$f" "${BACKUP_S3_URI%/}/$(basename "$f")"
  done
  log "uploaded to ${BACKUP_S3_URI%/}/$name"
fi

if [ "$RETENTION_DAYS" -gt 0 ]; then
  # Only this script's files, never the dump just written.
  find "$BACKUP_DIR" -maxdepth 1 -type f -name 'lhcms_*.pgdump*' -mtime +"$RETENTION_DAYS" \
    ! -name "${name}*" -print -delete | while read -r old; do log "retention: deleted $old"; done
fi

finished=$(date +%s)
write_textfile_metric lhcms_backup.prom <<METRICS
# HELP lhcms_backup_last_success_timestamp_seconds Unix time of the last verified LHCMS database backup.
# TYPE lhcms_backup_last_success_timestamp_seconds gauge
lhcms_backup_last_success_timestamp_seconds{database="$PGDATABASE"} $finished
# HELP lhcms_backup_last_size_bytes Size of the last verified LHCMS database backup.
# TYPE lhcms_backup_last_size_bytes gauge
lhcms_backup_last_size_bytes{database="$PGDATABASE"} $bytes
# HELP lhcms_backup_last_duration_seconds Duration of the last verified LHCMS database backup.
# TYPE lhcms_backup_last_duration_seconds gauge
lhcms_backup_last_duration_seconds{database="$PGDATABASE"} $((finished - started))
METRICS
log "backup ok database=$PGDATABASE file=$final bytes=$bytes seconds=$((finished - started)) tables=$(wc -l <"$final.rowcounts")"
printf '%s\n' "$final"
