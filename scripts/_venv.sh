# Sourced by start.sh and test.sh: make .venv (Python 3.9-3.11, as Red 3.5 needs) and install the
# cog with its test extra into it. Re-running is quick: pip skips what is already installed.
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

if [ ! -x .venv/bin/python ]; then
    "$(find_python)" -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
