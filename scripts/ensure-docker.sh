#!/usr/bin/env bash
# Make a Docker engine answer on this machine, installing what is missing. Idempotent.
#
# - installs docker.io (the engine) and mmdebstrap (the offline image builder) when missing;
# - starts dockerd in the background when no engine answers (log: $HGM_DOCKERD_LOG);
# - waits until `docker info` works, or fails with the end of the engine's log.
#
# A machine whose engine is managed elsewhere (Docker Desktop, a remote DOCKER_HOST, systemd)
# is left alone: if `docker info` already works, nothing is installed or started.
set -euo pipefail

LOG=${HGM_DOCKERD_LOG:-/var/log/hgm-dockerd.log}
# Written when this script started the engine: tests may then stop and restart it
# (tests/test_engine_outage.py); an engine managed elsewhere is never touched.
MARK=${HGM_DOCKERD_MARK:-/run/hgm-dockerd.started}
WAIT_S=${HGM_DOCKERD_WAIT_S:-60}
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

engine_answers() { docker info >/dev/null 2>&1; }

missing=""
if ! command -v dockerd >/dev/null 2>&1 && ! engine_answers; then
  missing="$missing docker.io"
fi
command -v mmdebstrap >/dev/null 2>&1 || missing="$missing mmdebstrap"
if [ -n "$missing" ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "missing:$missing; install them with your system's package manager" >&2
    exit 1
  fi
  echo "installing Debian packages:$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

if engine_answers; then
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "no Docker engine answers and dockerd is not installed" >&2
  exit 1
fi
echo "starting dockerd in the background (log: $LOG)"
# setsid: the engine outlives this script and the make that ran it.
$SUDO sh -c "setsid dockerd >>'$LOG' 2>&1 </dev/null &"
for _ in $(seq $((WAIT_S * 10))); do
  if engine_answers; then
    $SUDO touch "$MARK"
    exit 0
  fi
  sleep 0.1
done
echo "dockerd did not answer within ${WAIT_S}s; the end of its log ($LOG):" >&2
$SUDO tail -n 20 "$LOG" >&2 || true
exit 1
