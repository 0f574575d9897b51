#!/usr/bin/env bash
# Run the tests on a bare machine: installs Mosquitto and systemd (whose
# systemd-analyze checks the unit files; it runs without systemd as PID 1) and
# Chromium (the carer's report is rendered in it) with
# apt-get, the Python dependencies (pip, into .venv), checks style, then runs pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh test mosquitto openssl systemd chromium
.venv/bin/ruff check sentinel tests benchmarks
exec .venv/bin/pytest "$@"
