#!/usr/bin/env bash
# Runs a Windows Go test binary under Wine, non-interactively and bounded in time.
#   scripts/windows/wine-test.sh <test.exe> [go test flags...]
# The Wine prefix lives in the user's cache (created on first use, ~10 s) and gets
# the stand-in bcryptprimitives.dll that Go 1.22+ binaries need and Debian 12's
# Wine 8 lacks (bcryptprimitives.c). Wine's own server for the prefix is stopped at
# the end so that nothing of the run stays behind.
set -euo pipefail
exe=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
cc=${MINGW_CC:-x86_64-w64-mingw32-gcc}

for tool in wine wineboot wineserver "$cc"; do
  if ! command -v "$tool" >/dev/null; then
    echo "wine-test: $tool is missing (Debian: apt-get install --no-install-recommends wine wine64 gcc-mingw-w64-x86-64)" >&2
    exit 1
  fi
done

export WINEPREFIX=${PWS_WINEPREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/pawwork-supervisor/wine64}
export WINEARCH=win64 WINEDEBUG=-all DISPLAY=
# No Mono or Gecko installer dialogs while the prefix is created.
export WINEDLLOVERRIDES="mscoree=;mshtml="
trap 'timeout 20 wineserver -k >/dev/null 2>&1 || true' EXIT

sys32=$WINEPREFIX/drive_c/windows/system32
if [ ! -d "$sys32" ]; then
  echo "wine-test: creating the Wine prefix $WINEPREFIX"
  mkdir -p "$WINEPREFIX"
  timeout 180 wineboot -i </dev/null >/dev/null 2>&1 || true
  timeout 60 wineserver -w || true
  [ -d "$sys32" ] || { echo "wine-test: wineboot did not create $sys32" >&2; exit 1; }
fi
if [ ! -f "$sys32/bcryptprimitives.dll" ] || [ "$here/bcryptprimitives.c" -nt "$sys32/bcryptprimitives.dll" ]; then
  "$cc" -O2 -shared -o "$sys32/bcryptprimitives.dll" "$here/bcryptprimitives.c" -ladvapi32
fi

# -test.timeout fails a hung test with every goroutine's stack; the outer timeout
# bounds Wine itself.
timeout 900 wine "$exe" -test.timeout 600s "$@" </dev/null
