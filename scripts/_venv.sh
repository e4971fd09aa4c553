# Sourced by start.sh and test.sh: make .venv (Python 3.9-3.11, as Red 3.5 needs) and install the
# cog with its test extra into it. Later runs skip pip entirely unless pyproject.toml changed since
# the last successful install (its hash is kept in .venv/.skynet-installed); delete that file to
# force a reinstall. While installing, one line per package pip fetches shows progress; pip's
# whole output is shown only if the install fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

find_python() {
    for candidate in "${PYTHON:-}" python3.11 python3.10 python3.9 python3; do
        [ -n "$candidate" ] || continue
        command -v "$candidate" >/dev/null 2>&1 || continue
        if "$candidate" -c 'import sys; sys.exit(not ((3, 9) <= sys.version_info[:2] <= (3, 11)))'; then
            echo "$candidate"; return 0
        fi
    done
    echo "skynet needs Python 3.9, 3.10 or 3.11 (Red-DiscordBot 3.5 does not support newer ones)." >&2
    echo "Install one, or point PYTHON at it: PYTHON=/path/to/python3.11 $0" >&2
    return 1
}

file_hash() {
    if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1"
    elif command -v shasum >/dev/null 2>&1; then shasum -a 256 "$1"
    else cksum "$1"; fi
}

# Runs a command with its output kept aside; shows it only if the command fails.
quietly() {
    local log status=0
    log="$(mktemp)"
    "$@" >"$log" 2>&1 || status=$?
    if [ "$status" -ne 0 ]; then
        cat "$log" >&2
        echo "Setting up .venv failed (command: $*)." >&2
    fi
    rm -f "$log"
    return "$status"
}

# Like quietly, but shows pip's progress as it goes: each package it collects, then the install.
with_progress() {
    local log status
    log="$(mktemp)"
    set +e
    "$@" 2>&1 | tee "$log" | {
        grep --line-buffered -E '^(Collecting|Installing collected)' \
            | sed -u -E 's/^Collecting ([^ ]+).*/  fetching \1/; s/^Installing collected packages.*/  installing.../' >&2
        true
    }
    status=${PIPESTATUS[0]}
    set -e
    if [ "$status" -ne 0 ]; then
        cat "$log" >&2
        echo "Setting up .venv failed (command: $*)." >&2
    fi
    rm -f "$log"
    return "$status"
}

install_stamp=".venv/.skynet-installed"
wanted_stamp="$(file_hash pyproject.toml | cut -d' ' -f1) .[test]"
if [ ! -x .venv/bin/python ]; then
    python_for_venv="$(find_python)"
    echo "Creating .venv with $python_for_venv and installing skynet (a few minutes the first time)..." >&2
    "$python_for_venv" -m venv .venv
    quietly .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
fi
if [ "$(cat "$install_stamp" 2>/dev/null || true)" != "$wanted_stamp" ]; then
    if [ -f "$install_stamp" ]; then
        echo "pyproject.toml changed: reinstalling skynet into .venv..." >&2
        rm -f "$install_stamp"
    else
        echo "Installing skynet into .venv..." >&2
    fi
    with_progress .venv/bin/python -m pip install --progress-bar off --disable-pip-version-check -e ".[test]"
    echo "$wanted_stamp" >"$install_stamp"
fi
# The web panel's browser tests need Debian's chromium (installed when running as root, as CI does).
if [ -f scripts/_chromium.sh ]; then
    source scripts/_chromium.sh
fi
# Cache compiled bytecode, in .venv rather than the source tree. Every cog test loads skynet through
# Red's [p]load, which executes its ~230 modules afresh; where PYTHONDONTWRITEBYTECODE is set (some
# shells and CI images set it) each load compiled them all from source: 40 % of the suite's CPU.
unset PYTHONDONTWRITEBYTECODE
export PYTHONPYCACHEPREFIX="${PYTHONPYCACHEPREFIX:-$PWD/.venv/pycache}"
