#!/usr/bin/env bash
# gatepass developer entry point. Works on a fresh Debian 12 / Raspberry Pi OS with python3 and apt.
#   ./run.sh demo    create .venv, install, run the demo (central + simulated gate + sync)
#   ./run.sh test    create .venv, install dev tools and Debian's chromium, run lint + the test suite
#   ./run.sh bench   run the benchmarks (ratios against a baseline measured in the same run)
#   ./run.sh build   make the wheel and sdist in dist/
#   ./run.sh bundle [ARCH]  one archive with the wheel and every pinned dependency wheel, for an offline install
#                    (ARCH: aarch64, the 64-bit Raspberry Pi OS, by default; x86_64 for a PC)
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

# The wheel and sdist of this tree in dist/ (prints the wheel's path).
build_dist() {
    rm -rf dist/gatepass-*.whl dist/gatepass-*.tar.gz build
    "$PY" -m build --outdir dist . >&2
    ls dist/gatepass-*.whl
}

# An offline bundle: the wheel, every pinned runtime dependency as a manylinux wheel for CPython 3.11 on ARCH
# (glibc up to 2.36, Debian 12 / Raspberry Pi OS bookworm), and install.sh.
bundle() {
    local arch="$1" wheel version name out platforms=()
    wheel="$(build_dist)"
    version="$("$PY" -c 'import gatepass; print(gatepass.__version__)')"
    name="gatepass-$version-bundle-$arch"
    out="dist/$name"
    for tag in 2014 _2_17 _2_24 _2_26 _2_27 _2_28 _2_31 _2_34 _2_35 _2_36; do
        platforms+=(--platform "manylinux${tag}_$arch")
    done
    rm -rf "$out" "$out.tar.gz" && mkdir -p "$out/wheels"
    "$PY" -m pip download -q --only-binary=:all: "${platforms[@]}" --python-version 3.11 --implementation cp \
        --abi cp311 --abi abi3 --abi none -c constraints.txt -d "$out/wheels" "$wheel" pip >&2
    cp packaging/bundle-install.sh "$out/install.sh" && chmod 755 "$out/install.sh"
    cp LICENSE CHANGELOG.md "$out/"
    tar -czf "$out.tar.gz" -C dist "$name"
    say "bundle: $out.tar.gz ($(du -h "$out.tar.gz" | cut -f1), $(ls "$out/wheels" | wc -l) wheels)"
    echo "$out.tar.gz"
}

case "${1:-}" in
    demo)
        apt_install libzbar0
        venv postgres
        shift; exec "$VENV/bin/gatepass" demo "$@" ;;
    test)
        apt_install libzbar0 chromium socat espeak-ng sox fonts-noto-cjk poppler-utils postgresql fuse3 libfuse3-3 cage xwayland grim  # tests/pgserver.py, lazyfs, the kiosk screen
        venv dev
        shift
        "$PY" packaging/check_wheels.py           # every pinned runtime dependency has a wheel for 64-bit Pi OS
        "$VENV/bin/ruff" check .
        "$VENV/bin/lint-imports" --no-cache >&2   # the layer contracts in pyproject.toml
        "$VENV/bin/mypy"                          # types of the product packages
        exec "$PY" -m pytest "$@" ;;
    bench)
        apt_install libzbar0
        venv dev,bench
        shift; exec "$PY" -m bench "$@" ;;
    build)
        venv dev
        build_dist ;;
    bundle)
        venv dev
        bundle "${2:-aarch64}" ;;
    lock)
        "$PY" -m pip freeze --exclude-editable | grep -v '^gatepass' > constraints.txt
        say "constraints.txt updated" ;;
    *)
        say "usage: ./run.sh demo | test | bench | build | bundle [ARCH] | lock"; exit 2 ;;
esac
