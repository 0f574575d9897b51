#!/usr/bin/env bash
# Shared by scripts/demo.sh and scripts/test.sh: install Debian packages that are
# missing (named as arguments) and make .venv with sentinel and its extras.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="$1"; shift
missing=()
for pkg in "$@"; do
  case "$pkg" in
    mosquitto) [ -x /usr/sbin/mosquitto ] || command -v mosquitto >/dev/null || missing+=(mosquitto) ;;
    *) dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg") ;;
  esac
done
# Debian's python3 needs python3-venv for `python3 -m venv`.
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "installing ${missing[*]} with apt-get" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
target="."
[ -z "$extras" ] || target=".[${extras}]"
.venv/bin/python -m pip install -q --disable-pip-version-check -e "$target"
