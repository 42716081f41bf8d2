#!/usr/bin/env bash
# The main job: bootstrap (idempotent), then the end-to-end demo of the CA.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/bootstrap.sh
# shellcheck disable=SC1091
. ./.atlas-ca-env
exec .venv/bin/atlas-ca demo "$@"
