#!/bin/sh
# deps.sh installs what building and testing berth need, and unpacks the
# kernel berth boots: Debian's cloud kernel, resolved through the
# linux-image-cloud-amd64 metapackage (never a hard-coded ABI version).
# The package is cached in $BUILD/cache; a kernel already unpacked is kept.
set -eu
BUILD=${BUILD:-build}
PACKAGES="qemu-system-x86 qemu-utils ovmf busybox-static e2fsprogs thin-provisioning-tools dosfstools mtools ca-certificates git make crun runc syslinux syslinux-common systemd-boot-efi debootstrap tar"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# Resolve the versioned kernel package the metapackage depends on.
if [ -z "$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | grep 'Depends: linux-image-')" ]; then
	apt-get update -qq
fi
kpkg=$(apt-cache depends linux-image-cloud-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n1)
if [ -z "$kpkg" ]; then
	echo "deps: cannot resolve linux-image-cloud-amd64 to a kernel package; is Debian's package index reachable (apt-get update)?" >&2
	exit 1
fi
mkdir -p "$BUILD/cache"
if [ "$(cat "$BUILD/kernel/.package" 2>/dev/null)" = "$kpkg" ]; then
	exit 0
fi
deb=$(ls "$BUILD/cache/${kpkg}_"*.deb 2>/dev/null | head -n1 || true)
if [ -z "$deb" ]; then
	echo "deps: downloading $kpkg"
	(cd "$BUILD/cache" && apt-get download "$kpkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
	deb=$(ls "$BUILD/cache/${kpkg}_"*.deb 2>/dev/null | head -n1 || true)
	[ -n "$deb" ] || { echo "deps: apt-get download $kpkg failed" >&2; exit 1; }
fi
echo "deps: unpacking $(basename "$deb") into $BUILD/kernel"
rm -rf "$BUILD/kernel.tmp"
dpkg-deb -x "$deb" "$BUILD/kernel.tmp"
echo "$kpkg" > "$BUILD/kernel.tmp/.package"
rm -rf "$BUILD/kernel"
mv "$BUILD/kernel.tmp" "$BUILD/kernel"
