#!/usr/bin/env bash
# Code health (issue "one place for every rule"): no function of the app at radon grade D or
# worse, and no module over 500 lines, outside migrations, models.py and the seed commands.
set -euo pipefail
cd "$(dirname "$0")/.."
complex=$(.venv/bin/python -m radon cc -n D assessments --exclude "assessments/migrations/*")
if [ -n "$complex" ]; then
  printf 'Functions at grade D or worse (radon cc -n D):\n%s\n' "$complex"
  exit 1
fi
long=$(find assessments -name '*.py' -not -path '*/migrations/*' -not -name models.py -not -name 'seed_*.py' \
  -exec awk 'END { if (NR > 500) print FILENAME ": " NR " lines" }' {} \;)
if [ -n "$long" ]; then
  printf 'Modules over 500 lines:\n%s\n' "$long"
  exit 1
fi
echo "code health: no function at grade D or worse, no module over 500 lines"
