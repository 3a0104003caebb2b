#!/usr/bin/env bash
# Build DigitLab's Linux packages from a clean checkout:
#
#   packaging/linux/build.sh
#
# writes into dist/ (at the top of the repository):
#   dist/digitlab/                                   the PyInstaller one-folder build
#   dist/digitlab_<version>_<arch>.deb               installs to /opt/digitlab
#   dist/digitlab-<version>-linux-<machine>.tar.gz   the one folder, to unpack anywhere
#
# It makes its own build venv (build/linux-venv, reused while Python and the
# requirements are unchanged), so the machine needs only Python >= 3.11 with
# venv, dpkg-deb and binutils (objdump, strip).
# Environment: PYTHON (default python3) is the interpreter to bundle;
# DIGITLAB_SKIP_DEB=1 / DIGITLAB_SKIP_TARBALL=1 skip an output.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
python=${PYTHON:-python3}
venv=$repo/build/linux-venv
work=$repo/build/pyinstaller
dist=$repo/dist

say() { printf '\n== %s\n' "$*" >&2; }

for tool in "$python" dpkg-deb objdump strip tar gzip; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "build.sh: '$tool' is needed but not on PATH" >&2
        exit 1
    fi
done
cd "$repo"

version=$("$python" "$here/../project_info.py" version)

say "build venv ($venv)"
requirements=$("$python" "$here/../project_info.py" requirements; cat packaging/requirements-build.txt)
stamp=$(printf '%s\n%s\n' "$("$python" -VV)" "$requirements" | sha256sum | cut -d' ' -f1)
if [[ ! -f $venv/.stamp || $(cat "$venv/.stamp") != "$stamp" ]]; then
    rm -rf "$venv"
    "$python" -m venv "$venv"
    # The app's runtime dependencies straight from pyproject.toml, not the
    # package itself: the spec freezes the checkout's code, never a stale
    # copy from site-packages.
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        -r packaging/requirements-build.txt \
        -r <("$python" "$here/../project_info.py" requirements)
    echo "$stamp" >"$venv/.stamp"
fi

say "PyInstaller one-folder build (digitlab $version)"
rm -rf "$dist/digitlab"
"$venv/bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --distpath "$dist" --workpath "$work" packaging/digitlab.spec
bundle=$dist/digitlab
# A build that cannot even start is not worth packing.
"$bundle/digitlab" --version

if [[ ${DIGITLAB_SKIP_DEB:-0} != 1 ]]; then
    say ".deb"
    deb=$("$here/make_deb.sh" "$bundle" "$version" "$dist")
    echo "$deb ($(du -h "$deb" | cut -f1))"
fi

if [[ ${DIGITLAB_SKIP_TARBALL:-0} != 1 ]]; then
    say ".tar.gz"
    top=digitlab-$version
    tarball=$dist/$top-linux-$(uname -m).tar.gz
    extras=$(mktemp -d)
    trap 'rm -rf "$extras"' EXIT
    mkdir "$extras/$top"
    install -m 0644 resources/digitlab.desktop "$extras/$top/digitlab.desktop"
    install -m 0644 resources/icons/digitlab-256.png "$extras/$top/digitlab.png"
    glibc=$(find "$bundle" -type f -name '*.so*' -print0 | xargs -0 objdump -T 2>/dev/null |
        grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -u -V | tail -n 1)
    # The system libraries from the one list (qt-system-libraries.txt), wrapped.
    libraries=$("$here/list-system-libraries.sh" | tr '\n' ' ' | fmt -w 74 | sed 's/^/  /')
    sed -e "s/@VERSION@/$version/" -e "s/@MACHINE@/$(uname -m)/" -e "s/@GLIBC@/$glibc/" \
        "$here/tarball-README.txt" |
        awk -v libraries="$libraries" '$0 == "@SYSTEM_LIBRARIES@" { print libraries; next } { print }' \
            >"$extras/$top/README.txt"
    # Rename the top folder on the fly (no 150 MB copy); the trailing "S"
    # leaves symlink targets alone. gzip -6: the speed/size sweet spot here.
    tar --owner=0 --group=0 --numeric-owner -cf - \
        -C "$dist" --transform "s,^digitlab\(/\|\$\),$top\1,S" digitlab \
        -C "$extras" "$top" |
        gzip -6 >"$tarball"
    echo "$tarball ($(du -h "$tarball" | cut -f1))"
fi

say "done: $(du -sh "$bundle" | cut -f1) unpacked in $bundle"
