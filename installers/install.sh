#!/bin/sh
# Install (or uninstall) Revoice on Linux or macOS: finds a Python 3.11+ and runs revoice_install.py.
#
#   installers/install.sh                 # install for this user
#   installers/install.sh --dry-run       # print every path and action, change nothing
#   installers/install.sh uninstall       # remove everything the install placed
#
# REVOICE_PYTHON=/path/to/python3 picks the Python; every option is revoice_install.py's (--help).
set -eu

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)

new_enough() {
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1
}

python=""
if [ -n "${REVOICE_PYTHON:-}" ]; then
    if ! new_enough "$REVOICE_PYTHON"; then
        echo "error: REVOICE_PYTHON=$REVOICE_PYTHON is not a Python 3.11 or newer" >&2
        exit 2
    fi
    python=$REVOICE_PYTHON
else
    for candidate in python3 python3.14 python3.13 python3.12 python3.11 python; do
        if command -v "$candidate" >/dev/null 2>&1 && new_enough "$candidate"; then
            python=$candidate
            break
        fi
    done
fi
if [ -z "$python" ]; then
    echo "error: Revoice needs Python 3.11 or newer and none was found on PATH." >&2
    echo "  macOS: install it from https://www.python.org/downloads/ (or: brew install python@3.12)" >&2
    echo "  Linux: your distribution's python3 (3.11+) with its venv module (Debian/Ubuntu: python3-venv)" >&2
    echo "  then run this again, or point REVOICE_PYTHON at it." >&2
    exit 2
fi
exec "$python" "$here/revoice_install.py" "$@"
