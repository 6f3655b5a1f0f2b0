#!/usr/bin/env bash
# The one command that installs what the tests need and runs them (README: "Run the tests").
# Installs missing Debian tools (SIPp, tshark/text2pcap, promtool, redis-server, tcpdump, ffmpeg,
# docker-compose for its config check)
# and npm deps,
# then runs typecheck, unit and end-to-end suites. Safe to re-run: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A tool_pkg=(
  [sipp]=sip-tester
  [tshark]=tshark
  [text2pcap]=wireshark-common
  [promtool]=prometheus
  [redis-server]=redis-server
  [tcpdump]=tcpdump
  # ffmpeg encodes and decodes the real H.264/VP8 video of the video suites (libx264, libvpx)
  [ffmpeg]=ffmpeg
  # `docker-compose config` validates docker-compose.yml where no compose v2 plugin is installed
  # (test/unit/ops/compose-images.test.ts); it runs no container.
  [docker-compose]=docker-compose
)
missing=()
for tool in "${!tool_pkg[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${tool_pkg[$tool]}")
done
if ((${#missing[@]})); then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  echo "installing Debian packages: ${missing[*]}"
  # tshark asks whether non-root users may capture; answer no so the install is unattended.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

npm test
