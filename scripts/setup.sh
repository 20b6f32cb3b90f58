#!/usr/bin/env bash
# Set-up on a fresh Debian machine (as root, or with sudo): system packages (ffmpeg decodes and writes videos),
# npm packages, the libtorch addon,
# and the TypeScript build. Idempotent: re-running skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
need=()
for pkg in libtorch-dev libgloo-dev libopenblas0-openmp python3-torch g++ make python3 chromium ffmpeg; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ -z "${LIBTORCH:-}" ] && [ ${#need[@]} -gt 0 ]; then
  echo "expnet setup: installing ${need[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # onnxruntime-node's postinstall would download CUDA libraries expnet never uses: package.json's allowScripts
  # denies it on npm 11, the variable on older npm
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
fi
if [ ! -f native/build/Release/expnet_native.node ] || [ -n "$(find native/src native/binding.gyp -newer native/build/Release/expnet_native.node 2>/dev/null)" ]; then
  npm run build:native
fi
npm run build:ts
