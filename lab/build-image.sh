#!/usr/bin/env bash
# Builds the lab host image locally (no registry needed): debootstrap a minimal bookworm,
# import it as the base image, then `docker build` lab/image. Rebuilds only when the recipe
# changed: the image carries the recipe's hash in the label pgplay.recipe.
#   lab/build-image.sh          build if missing or stale
#   lab/build-image.sh --hash   print the recipe hash and exit
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
IMAGE=${LAB_IMAGE:-pgplay-lab:latest}
BASE=pgplay-lab-base:bookworm
hash=$(cat "$here/build-image.sh" "$here/image/Dockerfile" "$here/image/lab-boot" "$here/image/lab-boot.service" "$here/image/lab-init-plain" | sha256sum | cut -c1-16)
if [ "${1:-}" = "--hash" ]; then echo "$hash"; exit 0; fi

current=$(docker image inspect "$IMAGE" --format '{{index .Config.Labels "pgplay.recipe"}}' 2>/dev/null || true)
if [ "$current" = "$hash" ]; then echo "build-image: $IMAGE is up to date ($hash)"; exit 0; fi

# The Debian mirror this machine uses (deb822 or one-line format), else the default.
mirror=$(sed -n 's/^URIs: *\([^ ]*\/debian\)\/\?$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1 || true)
[ -n "$mirror" ] || mirror=$(awk '$1=="deb" && $2 ~ /\/debian\/?$/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}; mirror=${mirror%/}
security=${mirror%/debian}/debian-security

if ! docker image inspect "$BASE" >/dev/null 2>&1; then
  command -v debootstrap >/dev/null 2>&1 || { echo "build-image: debootstrap missing: apt-get install debootstrap" >&2; exit 1; }
  root=$(mktemp -d /tmp/pgplay-rootfs.XXXXXX)
  trap 'rm -rf "$root"' EXIT
  echo "build-image: debootstrap bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$root" "$mirror" >/tmp/pgplay-debootstrap.log 2>&1 \
    || { echo "build-image: debootstrap failed, see /tmp/pgplay-debootstrap.log" >&2; exit 1; }
  tar -C "$root" -c . | docker import - "$BASE" >/dev/null
fi
echo "build-image: building $IMAGE (recipe $hash)"
docker build -q --label "pgplay.recipe=$hash" --build-arg "BASE=$BASE" \
  --build-arg "MIRROR=$mirror" --build-arg "SECURITY_MIRROR=$security" -t "$IMAGE" "$here/image" >/dev/null
echo "build-image: $IMAGE built ($hash)"
