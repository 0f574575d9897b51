#!/usr/bin/env bash
# Run the tests on a bare machine: installs Mosquitto (apt-get) and the Python
# dependencies (pip, into .venv), checks style, then runs pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh test mosquitto openssl
.venv/bin/ruff check sentinel tests benchmarks
exec .venv/bin/pytest "$@"
