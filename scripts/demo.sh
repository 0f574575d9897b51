#!/usr/bin/env bash
# Run the demo on a bare machine: only Python 3.11+ is needed; no broker, no Pi.
# The `demo` extra brings amqtt, the demo's own broker.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh demo
exec .venv/bin/sentinel demo "$@"
