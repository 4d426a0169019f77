#!/usr/bin/env bash
# Makes sure a Docker engine answers: installs docker.io when missing (Debian), starts dockerd when
# no engine runs. Idempotent; prints one line saying what it did.
set -euo pipefail
if ! command -v docker >/dev/null 2>&1 || ! command -v dockerd >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then echo "ensure-docker: docker is not installed; run as root or: sudo apt-get install docker.io" >&2; exit 1; fi
  echo "ensure-docker: installing docker.io"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io >/dev/null
fi
if docker info >/dev/null 2>&1; then echo "ensure-docker: engine answers"; exit 0; fi
if [ "$(id -u)" != 0 ]; then echo "ensure-docker: no Docker engine answers and this user cannot start dockerd" >&2; exit 1; fi
echo "ensure-docker: starting dockerd (log: /var/log/dockerd.log)"
nohup dockerd >/var/log/dockerd.log 2>&1 &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then echo "ensure-docker: engine answers"; exit 0; fi
  sleep 1
done
echo "ensure-docker: dockerd did not answer within 60 s; see /var/log/dockerd.log" >&2
exit 1
