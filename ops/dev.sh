#!/usr/bin/env bash
# Developer and CI entry point for kelp. Run from anywhere; it works on the repository it lives in.
#
#   bash ops/dev.sh install   system packages (when missing), .venv, pip install -e '.[test]'
#   bash ops/dev.sh test      install, then ruff, mypy, the generated-proto check and pytest
#
# Both are idempotent and never prompt (CI runs them with no stdin). Environment:
#   PYTHON=/path/to/python3.11   interpreter for the venv (default: the first python3.1x >= 3.11)
#   PYTEST_ARGS="tests/unit -x"  what pytest runs for `test` (default: tests/, the whole suite)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv"
STAMP="$VENV/.kelp-installed"   # hash of pyproject.toml at the last successful pip install

# Debian packages kelp needs now: a Python 3.11+ with venv and ensurepip, and a compiler for
# any dependency that has no wheel for this platform.
SYSTEM_PACKAGES=(python3 python3-venv python3-dev build-essential)
# To be added by later issues (keep this list in step with them):
#   fuse3 libfuse3-dev pkg-config   the FUSE mount (pyfuse3)
#   libisal2                        ISA-L erasure coding fast path
#   wrk                             HTTP load generator for ops/bench
#   postgresql                      the filer's PostgreSQL store (see start_postgres below)

log() { printf 'dev.sh: %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"
    else log "need root to run: $*"; return 1
    fi
}

install_system_packages() {
    command -v dpkg-query >/dev/null 2>&1 || { log "not a Debian system: install ${SYSTEM_PACKAGES[*]} yourself"; return 0; }
    local missing=() pkg
    for pkg in "${SYSTEM_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing system packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# PostgreSQL start-up hook: the filer issue starts a local server here for the integration tests.
start_postgres() { :; }

find_python() {
    if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; return 0; fi
    local candidate
    for candidate in python3.11 python3.12 python3.13 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
           "$candidate" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"; return 0
        fi
    done
    log "no Python 3.11+ with venv found (set PYTHON=...)"; return 1
}

make_venv() {
    if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        return 0
    fi
    local python
    python="$(find_python)"
    log "creating $VENV with $python"
    rm -rf "$VENV"
    "$python" -m venv "$VENV"
}

pip_install() {
    local want
    want="$(sha256sum "$REPO/pyproject.toml" | cut -d' ' -f1)"
    if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && "$VENV/bin/python" -c 'import ops.cli.main' 2>/dev/null; then
        return 0   # nothing changed since the last install
    fi
    log "pip install -e '.[test]'"
    (cd "$REPO" && "$VENV/bin/python" -m pip install --quiet --no-input -e '.[test]')
    echo "$want" > "$STAMP"
}

cmd_install() {
    install_system_packages
    make_venv
    pip_install
    start_postgres
    log "installed: $VENV/bin/kelp"
}

cmd_test() {
    cmd_install
    cd "$REPO"
    log "ruff check"
    "$VENV/bin/ruff" check .
    log "mypy"
    "$VENV/bin/mypy"
    log "generated protos up to date"
    "$VENV/bin/python" -m ops.protogen --check
    log "pytest"
    # shellcheck disable=SC2086  # PYTEST_ARGS is a list of words on purpose
    "$VENV/bin/python" -m pytest -ra ${PYTEST_ARGS:-tests/}
}

case "${1:-}" in
    install) cmd_install ;;
    test) cmd_test ;;
    *) echo "usage: bash ops/dev.sh install|test" >&2; exit 2 ;;
esac
