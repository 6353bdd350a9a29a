# shellcheck shell=bash
# Helpers shared by the ops/ scripts (sourced, not run).

log() { printf '%s lhcms-ops %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() {
  log "ERROR $*"
  exit 1
}

# Refuses secrets given as arguments: connections come from the libpq
# environment (PGHOST, PGPORT, PGUSER, PGPASSWORD or PGPASSFILE, PGSERVICE,
# PGSSLMODE ...), which `ps` does not show.
require_libpq_env() {
  local v
  for v in "$@"; do
    case "$v" in
      *://*@* | *password=*) die "connection strings with credentials are not accepted as arguments; use PGHOST/PGUSER/PGPASSWORD or a .pgpass/service file" ;;
    esac
  done
}

need() {
  local c
  for c in "$@"; do command -v "$c" >/dev/null 2>&1 || die "$c is required but not installed"; done
}

# Writes a Prometheus textfile-collector file atomically (node_exporter
# --collector.textfile.directory). $1 file name, stdin the metrics.
write_textfile_metric() {
  local dir=${METRICS_TEXTFILE_DIR:-}
  [ -n "$dir" ] || return 0
  mkdir -p "$dir"
  local tmp
  tmp=$(mktemp "$dir/.$1.XXXXXX")
  cat >"$tmp"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$dir/$1"
}

# Row counts per table in a pg_dump archive: table<TAB>rows, sorted. Reads the
# whole archive (every data block is decompressed), so it doubles as the full
# read that catches truncation or corruption inside the data.
archive_row_counts() {
  pg_restore --data-only --file=- "$1" | awk '
    /^COPY / && / FROM stdin;$/ { table = $2; rows[table] = 0; inside = 1; next }
    inside && $0 == "\\." { inside = 0; next }
    inside { rows[table]++ }
    END { for (t in rows) printf "%s\t%d\n", t, rows[t] }
  ' | LC_ALL=C sort
}

# Row counts per table of the database named by PGDATABASE (or $1), same format.
database_row_counts() {
  local db=${1:-${PGDATABASE:-}}
  local tables t n
  tables=$(psql -X -A -t -q -v ON_ERROR_STOP=1 -d "$db" -c "
    SELECT format('%I.%I', schemaname, tablename) FROM pg_tables
    WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1")
  for t in $tables; do
    n=$(psql -X -A -t -q -v ON_ERROR_STOP=1 -d "$db" -c "SELECT count(*) FROM $t")
    printf '%s\t%s\n' "$t" "$n"
  done | LC_ALL=C sort
}
