#!/usr/bin/env bash
# Run the tests on a bare machine: installs Mosquitto, systemd (whose
# systemd-analyze checks the unit files; it runs without systemd as PID 1),
# Chromium (the carer's report is rendered in it) and VictoriaMetrics (the
# history tests write to it) with apt-get, the Python dependencies (pip, into
# .venv), checks style and types, then runs pytest. The tests start their own servers on
# free loopback ports; Debian also starts a victoria-metrics service on :8428
# (`sudo systemctl disable --now victoria-metrics` if it should not run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh test mosquitto openssl systemd chromium victoria-metrics
.venv/bin/ruff check sentinel tests benchmarks
.venv/bin/mypy  # settings in pyproject.toml: strict on the pure layers (core, detect)
# The tests start hundreds of agents, notifiers and commands as processes: compiled once here, as pip
# compiles an installed kit, they do not each compile the package again (PYTHONDONTWRITEBYTECODE may be set).
.venv/bin/python -m compileall -q sentinel
# Five workers on two cores: most tests spend much of their time waiting on a broker, a process or a
# timer, so more workers than cores keep both busy (four left the others' share longer than the minute of
# chaos once the suite grew to 541 tests: 83-88 s against 77-84 s with five; eight only contend). The long
# tests are collected first (conftest.py) and an idle worker takes queued tests from a busy one (worksteal),
# so nothing waits behind the minute of chaos. "-n 0" after it runs them one by one.
exec .venv/bin/pytest -n 5 --dist worksteal "$@"
