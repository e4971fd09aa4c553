#!/usr/bin/env bash
# Set up and run the whole test suite (offline, no keys needed). Extra arguments go to pytest.
source "$(dirname "$0")/_venv.sh"
exec .venv/bin/python -m pytest "$@"
