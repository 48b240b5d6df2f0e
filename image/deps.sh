#!/bin/sh
# deps.sh installs what building and testing berth need, and unpacks the
# kernels berth boots: Debian's cloud kernel (for VMs) into $BUILD/kernel
# and its generic kernel (for bare metal) into $BUILD/kernel-generic,
# resolved through the linux-image-cloud-amd64 and linux-image-amd64
# metapackages (never a hard-coded ABI version);
# and the SELinux reference policy berth compiles: Debian's
# selinux-policy-default, -dev and -src, unpacked into $BUILD/selinux-policy
# (never installed: the build machine's own /etc/selinux is not touched).
# The tests' independent judge: Debian's Docker CLI (docker.io), of which
# only /usr/bin/docker is unpacked into $BUILD/docker-cli, never installed.
# gcc builds the race detector the unit tests run with.
# Packages are cached in $BUILD/cache; what is unpacked already is kept.
set -eu
BUILD=${BUILD:-build}
PACKAGES="qemu-system-x86 qemu-utils ovmf busybox-static e2fsprogs thin-provisioning-tools dosfstools mtools ca-certificates git make crun runc syslinux syslinux-common systemd-boot-efi debootstrap tar tini
secilc policycoreutils checkpolicy semodule-utils selinux-utils m4 gawk
gcc libc6-dev"

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

# Resolve the versioned kernel packages the metapackages depend on:
# linux-image-cloud-amd64 (the cloud flavour, for VMs) and
# linux-image-amd64 (the generic flavour, for bare metal).
if [ -z "$(apt-cache depends linux-image-cloud-amd64 linux-image-amd64 2>/dev/null | grep 'Depends: linux-image-')" ]; then
	apt-get update -qq
fi
# resolve METAPACKAGE: the versioned kernel package it depends on.
resolve() {
	k=$(apt-cache depends "$1" | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n1)
	if [ -z "$k" ]; then
		echo "deps: cannot resolve $1 to a kernel package; is Debian's package index reachable (apt-get update)?" >&2
		exit 1
	fi
	echo "$k"
}
mkdir -p "$BUILD/cache"

# download PACKAGE: the path of PACKAGE's .deb in $BUILD/cache, fetched once.
download() {
	deb=$(ls "$BUILD/cache/${1}_"*.deb 2>/dev/null | head -n1 || true)
	if [ -z "$deb" ]; then
		echo "deps: downloading $1" >&2
		(cd "$BUILD/cache" && apt-get download "$1" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true)
		deb=$(ls "$BUILD/cache/${1}_"*.deb 2>/dev/null | head -n1 || true)
		[ -n "$deb" ] || { echo "deps: apt-get download $1 failed" >&2; exit 1; }
	fi
	echo "$deb"
}

policy="selinux-policy-default selinux-policy-dev selinux-policy-src"
want=$(apt-cache policy $policy | sed -n 's/^ *Candidate: //p' | tr '\n' ' ')
if [ "$(cat "$BUILD/selinux-policy/.package" 2>/dev/null)" != "$policy $want" ]; then
	rm -rf "$BUILD/selinux-policy.tmp"
	for p in $policy; do
		deb=$(download "$p")
		echo "deps: unpacking $(basename "$deb") into $BUILD/selinux-policy"
		dpkg-deb -x "$deb" "$BUILD/selinux-policy.tmp"
	done
	echo "$policy $want" > "$BUILD/selinux-policy.tmp/.package"
	rm -rf "$BUILD/selinux-policy"
	mv "$BUILD/selinux-policy.tmp" "$BUILD/selinux-policy"
fi

dockerio=$(apt-cache policy docker.io | sed -n 's/^ *Candidate: //p')
if [ "$(cat "$BUILD/docker-cli/.package" 2>/dev/null)" != "docker.io $dockerio" ]; then
	deb=$(download docker.io)
	echo "deps: unpacking /usr/bin/docker of $(basename "$deb") into $BUILD/docker-cli"
	rm -rf "$BUILD/docker-cli.tmp"
	mkdir -p "$BUILD/docker-cli.tmp/root"
	dpkg-deb -x "$deb" "$BUILD/docker-cli.tmp/root"
	mv "$BUILD/docker-cli.tmp/root/usr/bin/docker" "$BUILD/docker-cli.tmp/docker"
	rm -rf "$BUILD/docker-cli.tmp/root"
	echo "docker.io $dockerio" > "$BUILD/docker-cli.tmp/.package"
	rm -rf "$BUILD/docker-cli"
	mv "$BUILD/docker-cli.tmp" "$BUILD/docker-cli"
fi

# unpack_kernel METAPACKAGE DIR: the kernel package METAPACKAGE resolves
# to, unpacked into DIR once.
unpack_kernel() {
	kpkg=$(resolve "$1")
	if [ "$(cat "$2/.package" 2>/dev/null)" = "$kpkg" ]; then
		return 0
	fi
	deb=$(download "$kpkg")
	echo "deps: unpacking $(basename "$deb") into $2"
	rm -rf "$2.tmp"
	dpkg-deb -x "$deb" "$2.tmp"
	echo "$kpkg" > "$2.tmp/.package"
	rm -rf "$2"
	mv "$2.tmp" "$2"
}
unpack_kernel linux-image-cloud-amd64 "$BUILD/kernel"
unpack_kernel linux-image-amd64 "$BUILD/kernel-generic"
