#!/usr/bin/env bash
# Restore a backup made by scripts/backup.sh into a NEW database on the server of DATABASE_URL,
# as DATABASE_URL's user (who then owns the restored tables, as the app expects). Refuses a
# database that already exists unless --force is given (it is then dropped first), and never
# touches the database DATABASE_URL names. Prints the DATABASE_URL to switch to.
#
#   DATABASE_URL=postgres://user:password@host:5432/asn_integrity \
#     scripts/restore.sh /var/backups/asn/asn_integrity-20260101-020000Z.dump asn_restored
#
# All or nothing: one transaction; when it fails, the new database is dropped again. The user
# needs the CREATEDB privilege; pg_restore must be of the dump's pg_dump version or newer.
set -euo pipefail

usage() { echo "usage: DATABASE_URL=postgres://... $0 [--force] DUMP_FILE NEW_DATABASE" >&2; exit 2; }

force=0
args=()
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) usage ;;
    *) args+=("$arg") ;;
  esac
done
[ ${#args[@]} -eq 2 ] || usage
dump="${args[0]}"
target="${args[1]}"
: "${DATABASE_URL:?set DATABASE_URL: its server, user and password are used for the restore}"
[ -f "$dump" ] || { echo "$0: no file $dump" >&2; exit 2; }
[[ "$target" =~ ^[A-Za-z_][A-Za-z0-9_]{0,62}$ ]] || { echo "$0: database name must be letters, digits and _" >&2; exit 2; }

rest="${DATABASE_URL#*://}"
authority="${rest%%/*}"
current="${rest#*/}"
query=""
case "$current" in *\?*) query="?${current#*\?}" ;; esac
current="${current%%\?*}"
url_for() { echo "postgresql://$authority/$1$query"; }
maintenance="$(url_for postgres)"

if [ "$target" = "$current" ]; then
  echo "$0: $target is the database DATABASE_URL points to; restore into another one and switch DATABASE_URL" >&2
  exit 1
fi
pg_restore --list "$dump" >/dev/null || { echo "$0: $dump is not a pg_dump custom-format file" >&2; exit 1; }

exists=$(psql "$maintenance" -XtAc "SELECT 1 FROM pg_database WHERE datname = '$target'")
if [ "$exists" = 1 ]; then
  if [ $force = 0 ]; then
    echo "$0: database $target already exists; choose another name, or add --force to drop and replace it" >&2
    exit 1
  fi
  echo "dropping the existing database $target (--force)"
  psql "$maintenance" -Xq -v ON_ERROR_STOP=1 -c "DROP DATABASE \"$target\" WITH (FORCE)"
fi

psql "$maintenance" -Xq -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$target\""
trap 'echo "restore failed: dropping $target again" >&2; psql "$maintenance" -Xq -c "DROP DATABASE IF EXISTS \"$target\"" || true' ERR
# --no-owner/--no-privileges: the objects belong to the user restoring, whoever owned them
# where the dump was made.
pg_restore --dbname="$(url_for "$target")" --no-owner --no-privileges --single-transaction --exit-on-error "$dump"
psql "$(url_for "$target")" -Xq -v ON_ERROR_STOP=1 -c "ANALYZE"  # planner statistics are not in a dump
trap - ERR

shown="$authority"
case "$authority" in *:*@*) shown="${authority%%:*}:***@${authority#*@}" ;; esac
scheme="${DATABASE_URL%%://*}"
echo "restored $dump into the new database $target"
echo "To use it, set (same user and password as now):"
echo "DATABASE_URL=$scheme://$shown/$target$query"
