#!/usr/bin/env bash
# Build the Linux one-folder bundle: build/bundle/itsmdesk/ (the executable and everything it
# needs), with the desktop entry, icons and AppStream metainfo laid out under share/ the way a
# package or `cp -r build/bundle/itsmdesk /opt/` + symlinks expects, and a tarball beside it.
#   installer/build-linux.sh            (needs: pip install pyinstaller)
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/bundle
rm -rf "$out" build/pyinstaller
pyinstaller --noconfirm --log-level WARN --distpath "$out" --workpath build/pyinstaller \
  installer/itsmdesk.spec
app="$out/itsmdesk"
install -Dm644 installer/linux/io.github.itsmdesk.desktop "$app/share/applications/io.github.itsmdesk.desktop"
install -Dm644 installer/linux/io.github.itsmdesk.metainfo.xml "$app/share/metainfo/io.github.itsmdesk.metainfo.xml"
install -Dm644 resources/icons/itsmdesk.svg "$app/share/icons/hicolor/scalable/apps/io.github.itsmdesk.svg"
install -Dm644 resources/icons/itsmdesk-256.png "$app/share/icons/hicolor/256x256/apps/io.github.itsmdesk.png"
install -Dm644 resources/icons/itsmdesk-64.png "$app/share/icons/hicolor/64x64/apps/io.github.itsmdesk.png"
version=$("$app/itsmdesk" --version | awk '{print $2}')
tar -C "$out" -czf "$out/itsmdesk-$version-linux-x86_64.tar.gz" itsmdesk
echo "bundle: $app ($(du -sh "$app" | cut -f1)), $out/itsmdesk-$version-linux-x86_64.tar.gz"
