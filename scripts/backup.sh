#!/usr/bin/env bash
# Back up the app's PostgreSQL database (DATABASE_URL) with pg_dump in custom format (-Fc:
# compressed, restorable table by table with pg_restore) into FOLDER, or BACKUP_DIR, as
# <database>-<UTC time>.dump. Prints the file's path on the last line.
#
#   DATABASE_URL=postgres://user:password@host:5432/asn_integrity scripts/backup.sh /var/backups/asn
#
# The dump holds personal data (UU PDP 27/2022): the file is readable by its owner only.
# Evidence files (PRIVATE_STORAGE_ROOT) are not in the database: back that folder up too.
# pg_dump must be of the server's major version or newer.
set -euo pipefail

usage() { echo "usage: DATABASE_URL=postgres://... $0 FOLDER   (or set BACKUP_DIR)" >&2; exit 2; }

: "${DATABASE_URL:?set DATABASE_URL to the database to back up}"
folder="${1:-${BACKUP_DIR:-}}"
[ -n "$folder" ] || usage
case "$DATABASE_URL" in
  postgres://*|postgresql://*|pgsql://*) ;;
  *) echo "$0: DATABASE_URL is not a PostgreSQL URL" >&2; exit 2 ;;
esac

# libpq reads the URL itself (user, password, host, port, ?sslmode=...); it knows only the
# postgresql:// and postgres:// schemes.
url="postgresql://${DATABASE_URL#*://}"
rest="${DATABASE_URL#*://}"
database="${rest#*/}"
database="${database%%\?*}"
[ "$database" != "$rest" ] && [ -n "$database" ] || { echo "$0: DATABASE_URL names no database" >&2; exit 2; }

umask 077
mkdir -p "$folder"
file="$folder/$database-$(date -u +%Y%m%d-%H%M%SZ).dump"
[ ! -e "$file" ] || { echo "$0: $file already exists" >&2; exit 1; }

# Written under a temporary name and renamed once complete and readable: a dump cut short
# (disk full, connection lost) never looks like a good backup.
partial="$file.partial"
trap 'rm -f "$partial"' EXIT
pg_dump --format=custom --compress=6 --file="$partial" "$url"
pg_restore --list "$partial" >/dev/null
mv "$partial" "$file"
trap - EXIT

echo "backup of $database: $(du -h "$file" | cut -f1)"
echo "$file"
