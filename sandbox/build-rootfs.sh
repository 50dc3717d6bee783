#!/usr/bin/env bash
# Build a Debian root filesystem offline and load it into Docker as an image.
#
#     sandbox/build-rootfs.sh TAG [PACKAGE...]
#
# No image registry is needed: mmdebstrap (or debootstrap) fetches Debian's packages from a
# Debian mirror (HGM_DEBIAN_MIRROR, default deb.debian.org) and `docker import` loads the
# result as TAG. The Dockerfile next to this script is then built on top of it.
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 TAG [PACKAGE...]" >&2
  exit 2
fi
tag=$1
shift
suite=${HGM_DEBIAN_SUITE:-bookworm}
mirror=${HGM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
include=$(IFS=,; echo "$*")

if command -v mmdebstrap >/dev/null 2>&1; then
  # Documentation and translations are dropped: the image is for running code, not reading.
  # The man pages are left out, but Java's postinst (update-alternatives) links into
  # /usr/share/man/man1 and fails when the folder is missing: make it before packages run.
  # A failed mmdebstrap still lets `docker import` make an image of what it streamed:
  # remove that, so no half-built base survives a failure.
  if ! mmdebstrap --quiet --variant=apt ${include:+--include="$include"} \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --essential-hook='mkdir -p "$1/usr/share/man/man1"' \
    "$suite" - "$mirror" | docker import - "$tag" >/dev/null; then
    docker rmi -f "$tag" >/dev/null 2>&1 || true
    exit 1
  fi
elif command -v debootstrap >/dev/null 2>&1; then
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  debootstrap --variant=minbase ${include:+--include="$include"} "$suite" "$root" "$mirror" >&2
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
  if ! tar -C "$root" -c . | docker import - "$tag" >/dev/null; then
    docker rmi -f "$tag" >/dev/null 2>&1 || true
    exit 1
  fi
else
  echo "neither mmdebstrap nor debootstrap is installed (apt-get install mmdebstrap)" >&2
  exit 1
fi
echo "$tag"
