#!/usr/bin/env bash
# Pack a PyInstaller one-folder build of DigitLab into a .deb.
#
#   packaging/linux/make_deb.sh ONE_FOLDER_DIR VERSION OUT_DIR
#
# Installs the folder as /opt/digitlab, links /usr/bin/digitlab to its
# launcher, adds the .desktop entry and the hicolor icons, and declares the
# system libraries the bundle leaves to the system (qt-system-libraries.txt:
# Qt's xcb platform, fonts, GLib, D-Bus, OpenSSL, the C++ runtime; see
# pyinstaller/trim.py). Prints the .deb's path. Needs dpkg-deb (>= 1.19 for
# --root-owner-group: no fakeroot) and binutils' objdump (to read the glibc
# version the bundle needs).
set -euo pipefail

if [[ $# -ne 3 ]]; then
    echo "usage: $0 ONE_FOLDER_DIR VERSION OUT_DIR" >&2
    exit 2
fi
bundle=$1
version=$2
out_dir=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
icons=$repo/resources/icons

if [[ ! -x $bundle/digitlab ]]; then
    echo "make_deb.sh: $bundle/digitlab is missing or not executable (not a one-folder build?)" >&2
    exit 1
fi
if [[ ! $version =~ ^[0-9][0-9A-Za-z.+~-]*$ ]]; then
    echo "make_deb.sh: '$version' is not a usable version" >&2
    exit 1
fi

# Python pre-releases sort before the release only with Debian's "~":
# 1.2.0rc1 -> 1.2.0~rc1, 1.2.0.dev3 -> 1.2.0~dev3, 1.2.0+local stays.
deb_version=$(sed -E 's/\.?(a|b|rc|dev)([0-9]*)/~\1\2/' <<<"$version")
arch=$(dpkg --print-architecture)

# The newest glibc symbol version any bundled file asks for.
glibc_floor() {
    find "$bundle" -type f \( -name '*.so*' -o -perm -u+x \) -print0 |
        xargs -0 -r objdump -T 2>/dev/null |
        grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -u -V | tail -n 1
}
libc_floor=$(glibc_floor || true)
libc_dep="libc6"
[[ -n $libc_floor ]] && libc_dep="libc6 (>= $libc_floor)"

# What the bundle takes from the system: glibc, then the one list of Qt's
# system libraries (with its "| ...t64" alternatives and version floors).
depends=("$libc_dep")
while IFS= read -r entry; do
    entry=$(sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' <<<"$entry")
    if [[ -n $entry ]]; then
        depends+=("$entry")
    fi
done < <(sed -e 's/#.*//' "$here/qt-system-libraries.txt")
if [[ ${#depends[@]} -lt 2 ]]; then
    echo "make_deb.sh: $here/qt-system-libraries.txt lists no libraries" >&2
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root

install -d -m 0755 "$root/opt" "$root/usr/bin" "$root/usr/share/applications" \
    "$root/usr/share/doc/digitlab" "$root/DEBIAN"
cp -a "$bundle" "$root/opt/digitlab"
# Absolute link: PyInstaller's launcher resolves it to find _internal/.
ln -s /opt/digitlab/digitlab "$root/usr/bin/digitlab"
install -m 0644 "$repo/resources/digitlab.desktop" "$root/usr/share/applications/digitlab.desktop"
for png in "$icons"/digitlab-*.png; do
    size=$(basename "$png" .png)
    size=${size#digitlab-}
    install -D -m 0644 "$png" "$root/usr/share/icons/hicolor/${size}x${size}/apps/digitlab.png"
done
install -D -m 0644 "$icons/digitlab.svg" "$root/usr/share/icons/hicolor/scalable/apps/digitlab.svg"
cat >"$root/usr/share/doc/digitlab/copyright" <<'EOF'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: DigitLab

Files: *
License: MIT
Comment: The bundled Python, Qt (LGPL-3.0, dynamically linked and
 replaceable under /opt/digitlab/_internal), PySide6, NumPy, pyqtgraph and
 OpenBLAS keep their own licences. The bundled MNIST sample is derived from
 the MNIST database (Y. LeCun, C. Cortes, C. J. C. Burges).
EOF

# Normalise permissions whatever the umask or the source tree says: no
# group/world-writable files in a system package.
chmod -R u+rwX,go+rX,go-w "$root"

installed_kib=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
depends_line=$(IFS=,; echo "${depends[*]}" | sed 's/,/, /g')
cat >"$root/DEBIAN/control" <<EOF
Package: digitlab
Version: $deb_version
Architecture: $arch
Maintainer: DigitLab developers <digitlab@users.noreply.github.com>
Installed-Size: $installed_kib
Depends: $depends_line
Section: education
Priority: optional
Homepage: https://github.com/digitlab/digitlab
Description: watch a small neural network learn to read handwritten digits
 DigitLab draws, trains and looks inside a 784-16-16-10 network on MNIST,
 the way 3Blue1Brown's video explains it: draw a digit and see the
 activations, train and watch the weights and the cost change.
 .
 This package holds a self-contained build (Python, Qt, NumPy inside
 /opt/digitlab); it takes the windowing, font and OpenGL libraries from the
 system.
EOF

mkdir -p "$out_dir"
deb=$out_dir/digitlab_${deb_version}_${arch}.deb
# zstd: 2 s where xz takes minutes; dpkg reads it since Debian 12 / Ubuntu 21.10.
dpkg-deb --root-owner-group -Zzstd --build "$root" "$deb" >/dev/null
echo "$deb"
