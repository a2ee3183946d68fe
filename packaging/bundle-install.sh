#!/bin/sh
# Install gatepass from this bundle, without internet:   sudo ./install.sh [VENV]   (VENV: /opt/gatepass)
# Needs python3 with venv and libzbar0 (Debian: apt-get install python3-venv libzbar0, both on Raspberry Pi OS
# images). Then set the gate up:  sudo VENV/bin/gatepass edge install --help
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
venv="${1:-/opt/gatepass}"
if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    echo "python3-venv is missing: apt-get install python3-venv" >&2
    exit 1
fi
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --no-index --find-links "$here/wheels" --upgrade pip gatepass
echo "installed: $("$venv/bin/gatepass" --version) in $venv"
echo "next: sudo $venv/bin/gatepass edge install --help"
