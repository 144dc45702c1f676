#!/usr/bin/env bash
# Prove a built bundle works on its own, from an empty folder, with no Python of ours on the
# path: it prints its version, speaks Swedish, builds a demo database, renders a CAB pack PDF
# headless, lists its import mappings, and its window starts and shows the queue.
#   installer/smoke-test.sh build/bundle/itsmdesk
set -euo pipefail
app=$(cd "${1:-build/bundle/itsmdesk}" && pwd)
exe="$app/itsmdesk"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export HOME="$work" XDG_DATA_HOME="$work/data" XDG_CONFIG_HOME="$work/config" QT_QPA_PLATFORM=offscreen
unset PYTHONPATH ITSMDESK_DB ITSMDESK_LANG
fail() { echo "smoke-test: FAILED: $*" >&2; exit 1; }

"$exe" --version | grep -q '^itsmdesk [0-9]' || fail "--version"
ITSMDESK_LANG=sv_SE "$exe" --help | grep -q '^användning: itsmdesk' || fail "Swedish help"
"$exe" mappings | grep -q '^servicenow-incidents' || fail "ready mappings"
"$exe" --db "sqlite:///$work/demo.db" demo >/dev/null 2>&1 || fail "demo database"
ITSMDESK_LANG=sv_SE "$exe" --db "sqlite:///$work/demo.db" report cab-pack --meeting CAB-000001 \
  -o "$work/pack.pdf" || fail "CAB pack PDF"
head -c 5 "$work/pack.pdf" | grep -q '%PDF-' || fail "the PDF is not a PDF"
"$exe" --db "sqlite:///$work/demo.db" report release-plan --release REL-000001 \
  -o "$work/plan.pdf" >/dev/null || fail "release plan PDF"
[ "$(stat -c %s "$work/pack.pdf")" -gt 2000 ] || fail "the PDF is nearly empty"
ITSMDESK_USER=henrik.nilsson ITSMDESK_PASSWORD=demo ITSMDESK_EXIT_WHEN_READY=1 timeout 120 "$exe" --demo 2>/dev/null | grep -q 'itsmdesk: ready' \
  || fail "the window did not show the queue"
echo "smoke-test: the bundle at $app works ($(du -sh "$app" | cut -f1))"
