#!/usr/bin/env bash
# Prove the Linux package works the way a user meets it:
#
#   packaging/linux/smoke_test.sh            build (packaging/linux/build.sh), then test
#   packaging/linux/smoke_test.sh --no-build test the .deb already in dist/
#
# As root (or with sudo): install the .deb with dpkg -i, run the installed
# `digitlab --version`, train one epoch with it, run `digitlab predict` on
# digits from the bundled sample, open the installed window offscreen (and
# on a real X server under Xvfb when xvfb-run and xauth are there) and let it
# quit by itself (DIGITLAB_QUIT_AFTER_MS), timing the start, train in the
# window (DIGITLAB_SMOKE_TRAIN=1: the training child process), then dpkg -r and
# check that nothing the package installed is left. Exits non-zero on the
# first failure; never leaves the package installed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=1
[[ ${1:-} == --no-build ]] && build=0

fail() { echo "SMOKE TEST FAILED: $*" >&2; exit 1; }
say() { printf '\n== %s\n' "$*" >&2; }

as_root=()
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || fail "needs root (dpkg -i) and there is no sudo"
    as_root=(sudo)
fi

if [[ $build == 1 ]]; then
    "$here/build.sh"
fi
version=$(python3 "$repo/packaging/project_info.py" version)
shopt -s nullglob
debs=("$repo"/dist/digitlab_*_"$(dpkg --print-architecture)".deb)
[[ ${#debs[@]} -eq 1 ]] || fail "expected one .deb in dist/, found ${#debs[@]}: run build.sh"
deb=${debs[0]}

scratch=$(mktemp -d)
cleanup() {
    # Never leave the package installed behind a failed run.
    if dpkg-query -W -f='${Status}' digitlab 2>/dev/null | grep -q 'ok installed'; then
        "${as_root[@]}" dpkg -r digitlab >/dev/null 2>&1 || true
    fi
    rm -rf "$scratch"
}
trap cleanup EXIT
# The app keeps settings and downloads in the user's folders: point them at
# the scratch folder so the test leaves no trace in $HOME either.
export XDG_CONFIG_HOME=$scratch/config XDG_DATA_HOME=$scratch/data
export XDG_CACHE_HOME=$scratch/cache DIGITLAB_DATA_DIR=$scratch/digitlab-data

say "install $(basename "$deb") ($(du -h "$deb" | cut -f1))"
if dpkg-query -W -f='${Status}' digitlab 2>/dev/null | grep -q 'ok installed'; then
    "${as_root[@]}" dpkg -r digitlab >/dev/null
fi
if ! "${as_root[@]}" dpkg -i "$deb"; then
    # dpkg does not fetch dependencies; apt resolves them from the Depends line.
    "${as_root[@]}" apt-get install -f -y -qq --no-install-recommends ||
        fail "dpkg -i and apt-get -f install both failed"
fi
dpkg-query -L digitlab >"$scratch/installed-files"
installed_kib=$(dpkg-query -W -f='${Installed-Size}' digitlab)
echo "installed size: $installed_kib KiB ($((installed_kib / 1024)) MiB)"

[[ $(command -v digitlab) == /usr/bin/digitlab ]] || fail "digitlab is not /usr/bin/digitlab on PATH"
[[ -x /opt/digitlab/digitlab ]] || fail "/opt/digitlab/digitlab is missing"
[[ -f /usr/share/applications/digitlab.desktop ]] || fail "no .desktop entry"
[[ -f /usr/share/icons/hicolor/256x256/apps/digitlab.png ]] || fail "no hicolor icon"

say "digitlab --version"
# Run the app from elsewhere: it must not depend on the current folder.
cd "$scratch"
reported=$(digitlab --version)
echo "$reported"
[[ $reported == *"$version"* ]] || fail "--version says '$reported', expected $version"

# Five digits from the bundled sample as PNG files, their labels alongside.
python3 - "$repo/resources/data" "$scratch" <<'EOF'
import gzip, struct, sys, zlib
from pathlib import Path
data, out = Path(sys.argv[1]), Path(sys.argv[2])
images = gzip.open(data / "images-idx3-ubyte.gz").read()[16:]
labels = gzip.open(data / "labels-idx1-ubyte.gz").read()[8:]
def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
for index in range(5):
    pixels = images[index * 784:(index + 1) * 784]
    rows = b"".join(b"\0" + pixels[r * 28:(r + 1) * 28] for r in range(28))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 28, 28, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    (out / f"digit{index}-label{labels[index]}.png").write_bytes(png)
EOF
say "digitlab train (one epoch on the bundled sample: NumPy and BLAS in the bundle)"
digitlab train --epochs 1 --out "$scratch/trained.npz" || fail "digitlab train exited with $?"
model=()
if [[ ! -f /opt/digitlab/_internal/digitlab/resources/default_model.npz ]]; then
    echo "(no default model bundled: predicting with the one just trained)"
    model=(--model "$scratch/trained.npz")
fi

say "digitlab predict"
digitlab predict "${model[@]}" --json "$scratch"/digit*.png >"$scratch/predictions.jsonl" ||
    fail "digitlab predict exited with $?"
cat "$scratch/predictions.jsonl"
python3 - "$scratch/predictions.jsonl" <<'EOF' || fail "predictions are wrong (see above)"
import json, re, sys
lines = [json.loads(line) for line in open(sys.argv[1])]
right = sum(int(re.search(r"label(\d)", p["path"]).group(1)) == p["digit"] for p in lines)
print(f"{right} of {len(lines)} sample digits recognised")
# A working model gets nearly all; chance would get about one.
sys.exit(0 if len(lines) == 5 and right >= 3 else 1)
EOF

# Wall time of a start that shows the window and quits at the first turn of
# the event loop (DIGITLAB_QUIT_AFTER_MS=0): the time a user waits for it.
time_window() {
    local start end
    start=$(date +%s.%N)
    DIGITLAB_QUIT_AFTER_MS=0 timeout 120 "$@" >"$scratch/gui.log" 2>&1 ||
        { cat "$scratch/gui.log" >&2; fail "the window did not start and quit cleanly: $*"; }
    end=$(date +%s.%N)
    python3 -c "print(f'{$end - $start:.2f}')"
}

say "window, offscreen"
for run in 1 2 3; do
    echo "run $run: $(QT_QPA_PLATFORM=offscreen time_window digitlab) s to show the window and quit"
done
if grep -v -e propagateSizeHints -e XDG_RUNTIME_DIR "$scratch/gui.log" | grep -q .; then
    echo "(the app printed:)"; cat "$scratch/gui.log"
fi

# A click on Start, as a user makes it: the window trains in a child process
# (multiprocessing spawn: in the frozen app the executable again, recognised by
# freeze_support). digitlab.ui.selftest prints one line per progress record.
say "training in the window, offscreen (the training child process of the frozen app)"
shm_before=$(ls /dev/shm 2>/dev/null | grep '^digitlab_' || true)
DIGITLAB_SMOKE_TRAIN=1 DIGITLAB_QUIT_AFTER_MS=20000 QT_QPA_PLATFORM=offscreen timeout 120 digitlab \
    >"$scratch/train-gui.log" 2>&1 ||
    { cat "$scratch/train-gui.log" >&2; fail "the window did not train and quit cleanly"; }
grep 'smoke-train:' "$scratch/train-gui.log" || true
grep -q 'smoke-train: progress' "$scratch/train-gui.log" ||
    { cat "$scratch/train-gui.log" >&2; fail "no progress arrived from the training child"; }
grep -q 'smoke-train: ended finished' "$scratch/train-gui.log" ||
    { cat "$scratch/train-gui.log" >&2; fail "the training run in the window did not finish"; }
child=$(sed -n 's/.*child pid \([0-9][0-9]*\).*/\1/p' "$scratch/train-gui.log" | head -n 1)
[[ -n $child ]] || fail "the progress lines name no child process"
if kill -0 "$child" 2>/dev/null; then fail "the training child $child outlived the app"; fi
shm_after=$(ls /dev/shm 2>/dev/null | grep '^digitlab_' || true)
[[ $shm_after == "$shm_before" ]] || fail "shared memory left in /dev/shm: $shm_after"
echo "training child $child ran, reported progress and is gone; no shared memory left"

# xvfb-run needs xauth, which apt installs with xvfb only as a recommendation.
if command -v xvfb-run >/dev/null && command -v xauth >/dev/null; then
    say "window, on an X server (Xvfb: Qt's xcb platform and the declared libraries)"
    for run in 1 2; do
        echo "run $run: $(env -u QT_QPA_PLATFORM xvfb-run -a -s '-screen 0 1280x800x24' \
            bash -c "$(declare -f time_window fail); scratch='$scratch'; time_window digitlab") s"
    done
else
    echo "(xvfb-run or xauth not installed: skipping the real X server run)" >&2
fi

say "dpkg -r"
cd /
"${as_root[@]}" dpkg -r digitlab >/dev/null
left=0
while read -r path; do
    # Folders shared with other packages (/usr/share/icons/...) stay; every
    # file and link of ours must be gone, and /opt/digitlab entirely.
    if [[ ( -e $path || -L $path ) && ! -d $path ]]; then
        echo "left behind: $path" >&2
        left=1
    fi
done <"$scratch/installed-files"
[[ -e /opt/digitlab ]] && { echo "left behind: /opt/digitlab" >&2; left=1; }
[[ -e /usr/bin/digitlab || -L /usr/bin/digitlab ]] && { echo "left behind: /usr/bin/digitlab" >&2; left=1; }
[[ $left == 0 ]] || fail "dpkg -r left files behind"
echo "removed cleanly"

say "smoke test passed"
