#!/usr/bin/env bash
# The test command: bootstrap (idempotent), then ruff, mypy --strict and pytest.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/bootstrap.sh
# shellcheck disable=SC1091
. ./.atlas-ca-env

# Use the local PostgreSQL for the register's shared suite when one answers and none is named.
if [ -z "${ATLAS_CA_TEST_PG_DSN:-}" ]; then
  if .venv/bin/python - <<'PY' 2>/dev/null
import socket, sys
s = socket.socket(); s.settimeout(1)
sys.exit(0 if s.connect_ex(("127.0.0.1", 5432)) == 0 else 1)
PY
  then export ATLAS_CA_TEST_PG_DSN="postgresql://postgres@127.0.0.1:5432/postgres"; fi
fi

echo "== ruff check"
.venv/bin/ruff check src tests bench
echo "== mypy --strict src"
.venv/bin/mypy --strict src
echo "== pytest"
exec .venv/bin/pytest "$@"
