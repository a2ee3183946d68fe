#!/usr/bin/env bash
# gatepass developer entry point. Works on a fresh Debian 12 / Raspberry Pi OS with python3 and apt.
#   ./run.sh demo    create .venv, install, run the demo (central + simulated gate + sync)
#   ./run.sh test    create .venv, install dev tools and Debian's chromium, run lint + the test suite
#   ./run.sh bench   run the benchmarks (ratios against a baseline measured in the same run)
#   ./run.sh lock    refresh constraints.txt from the current .venv
set -euo pipefail
cd "$(dirname "$0")"
VENV=.venv
PY="$VENV/bin/python"

say() { printf '%s\n' "$*" >&2; }

# Debian packages the Python side cannot install by itself.
apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
            sudo="sudo"
        else
            say "missing system packages: ${missing[*]}"
            say "run this once as root, then run this command again:"
            say "    sudo apt-get update && sudo apt-get install -y ${missing[*]}"
            exit 1
        fi
    fi
    say "installing system packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# The venv, reinstalled only when pyproject.toml or constraints.txt change.
venv() {
    local extras="$1" stamp
    if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then apt_install python3-venv; fi
    [ -x "$PY" ] || python3 -m venv "$VENV"
    stamp="$VENV/.installed-$extras-$(cat pyproject.toml constraints.txt 2>/dev/null | sha256sum | cut -c1-16)"
    if [ ! -f "$stamp" ]; then
        say "installing gatepass[$extras] into $VENV"
        "$PY" -m pip install -q --upgrade pip >&2
        "$PY" -m pip install -q -c constraints.txt -e ".[$extras]" >&2
        rm -f "$VENV"/.installed-* && touch "$stamp"
    fi
}

case "${1:-}" in
    demo)
        apt_install libzbar0
        venv postgres
        shift; exec "$VENV/bin/gatepass" demo "$@" ;;
    test)
        apt_install libzbar0 chromium socat espeak-ng sox fonts-noto-cjk postgresql  # postgresql: tests/pgserver.py
        venv dev
        shift
        "$VENV/bin/ruff" check .
        "$VENV/bin/lint-imports" --no-cache >&2   # the layer contracts in pyproject.toml
        "$VENV/bin/mypy"                          # types of the product packages
        exec "$PY" -m pytest "$@" ;;
    bench)
        apt_install libzbar0
        venv dev
        shift; exec "$PY" -m bench "$@" ;;
    lock)
        "$PY" -m pip freeze --exclude-editable | grep -v '^gatepass' > constraints.txt
        say "constraints.txt updated" ;;
    *)
        say "usage: ./run.sh demo | test | bench | lock"; exit 2 ;;
esac
