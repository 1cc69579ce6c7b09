#!/usr/bin/env bash
# Build llama-cpp-python from its source release with our patches (patches/llama-cpp-python/*.patch)
# into a wheel in WHEELS. Runs once per machine (about 6 min on 2 cores); `make setup` installs the
# wheel from WHEELS afterwards. The wheel lands in WHEELS only when the build succeeded, so a failed
# build leaves nothing half-written there.
#
# Usage: patches/build-llama-cpp-python.sh PIP WHEELS VERSION
set -euo pipefail
pip=$1 wheels=$2 version=$3
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$pip" download --quiet --no-deps --no-binary :all: "llama-cpp-python==$version" -d "$work"
src="$work/llama_cpp_python-$version"
tar -xzf "$work/llama_cpp_python-$version.tar.gz" -C "$work"
for p in "$here"/llama-cpp-python/*.patch; do
  if ! patch --quiet --forward -p1 -d "$src" <"$p" >/dev/null; then
    echo "error: $p does not apply to llama-cpp-python $version; update the patch or the LLAMA version in the Makefile" >&2
    exit 1
  fi
done
"$pip" wheel --quiet --no-deps -w "$work/out" "$src"
mkdir -p "$wheels"
for whl in "$work"/out/*.whl; do  # copied beside, then renamed: pip never sees a partial wheel
  name=$(basename "$whl")
  cp "$whl" "$wheels/.$name.part"
  mv "$wheels/.$name.part" "$wheels/$name"
done
