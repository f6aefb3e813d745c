#!/usr/bin/env bash
# Developer and CI entry point for kelp. Run from anywhere; it works on the repository it lives in.
#
#   bash ops/dev.sh install   system packages (when missing), .venv, pip install -e '.[test]'
#   bash ops/dev.sh test      install, then ruff, mypy, the generated-proto check and pytest
#   bash ops/dev.sh postgres  start the local PostgreSQL and its test role (done by both above)
#
# Both are idempotent and never prompt (CI runs them with no stdin). Environment:
#   PYTHON=/path/to/python3.11   interpreter for the venv (default: the first python3.1x >= 3.11)
#   PYTEST_ARGS="tests/unit -x"  what pytest runs for `test` (default: tests/, the whole suite)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv"
STAMP="$VENV/.kelp-installed"   # hash of pyproject.toml at the last successful pip install

# Debian packages kelp needs now: a Python 3.11+ with venv and ensurepip, a compiler for
# any dependency that has no wheel for this platform, and PostgreSQL for the filer's store
# (its server for the tests, see start_postgres below; psycopg's binary wheel brings libpq).
SYSTEM_PACKAGES=(python3 python3-venv python3-dev build-essential postgresql fuse3  # fuse3: weed mount tests
                 libisal2)  # libisal2: ISA-L erasure coding fast path (loaded through ctypes)
# To be added by later issues (keep this list in step with them):
#   fuse3 libfuse3-dev pkg-config   the FUSE mount (pyfuse3)
#   wrk                             HTTP load generator for ops/bench

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

# The role the filer's PostgreSQL tests log in as over TCP (tests/pgtest.py has the same defaults,
# KELP_PG_HOST/PORT/USER/PASSWORD override both). It may create databases and nothing more.
KELP_PG_ROLE="${KELP_PG_USER:-kelp}"
KELP_PG_ROLE_PASSWORD="${KELP_PG_PASSWORD:-kelp}"

# Start the local PostgreSQL cluster when it is installed and down, and make sure the test role
# exists. Idempotent. Never fails the caller: without a server the PostgreSQL tests skip, saying why.
start_postgres() {
    if ! command -v pg_lsclusters >/dev/null 2>&1; then
        log "PostgreSQL is not installed (apt-get install postgresql): its filer tests will be skipped"
        return 0
    fi
    local version status
    read -r version status < <(pg_lsclusters -h | awk '$2 == "main" {print $1, $4; exit}') || true
    if [ -z "${version:-}" ]; then
        log "PostgreSQL has no 'main' cluster (pg_createcluster): its filer tests will be skipped"
        return 0
    fi
    if [ "$status" != online ]; then
        log "starting PostgreSQL $version main"
        as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start ||
            { log "PostgreSQL $version main did not start: its filer tests will be skipped"; return 0; }
    fi
    # psql reads the SQL on stdin; the role's name and password are plain words (no quoting needed).
    as_root su postgres -c "psql -X -q -v ON_ERROR_STOP=1 -d postgres" <<SQL >/dev/null ||
DO \$\$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$KELP_PG_ROLE') THEN
        CREATE ROLE $KELP_PG_ROLE LOGIN CREATEDB PASSWORD '$KELP_PG_ROLE_PASSWORD';
    END IF;
END \$\$;
SQL
        log "could not create PostgreSQL role $KELP_PG_ROLE: its filer tests may be skipped"
    return 0
}

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
    start_postgres
    log "pytest"
    # shellcheck disable=SC2086  # PYTEST_ARGS is a list of words on purpose
    "$VENV/bin/python" -m pytest -ra ${PYTEST_ARGS:-tests/}
}

case "${1:-}" in
    install) cmd_install ;;
    test) cmd_test ;;
    postgres) start_postgres ;;   # only the PostgreSQL start-up (tests/pgtest.py calls it)
    *) echo "usage: bash ops/dev.sh install|test|postgres" >&2; exit 2 ;;
esac
