#!/usr/bin/env bash
# Retake the README's screenshots from the installed app: build the wheel, install it in a fresh
# virtual environment (borrowing this Python's packages for PySide6 & co.), and run
# tools/screenshots.py with it from an empty folder.   tools/screenshots.sh [OUT_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:-$root/docs}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python -m pip wheel -q --no-deps -w "$work/dist" "$root"
python -m venv --system-site-packages "$work/venv"
"$work/venv/bin/pip" install -q --no-deps --no-index --force-reinstall "$work"/dist/itsmdesk-*.whl
cp "$root/tools/screenshots.py" "$work/"
cd "$work" && env -u PYTHONPATH "$work/venv/bin/python" "$work/screenshots.py" "$out"
