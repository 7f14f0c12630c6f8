#!/usr/bin/env bash
# Installs the pinned Deno into .tools/ of this checkout from the npm registry (package `deno`)
# and prints the binary's path. Idempotent: an installed binary of the right version is reused.
set -euo pipefail
DENO_VERSION="2.9.6"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="$root/.tools/deno"
bin="$prefix/node_modules/.bin/deno"
if [ ! -x "$bin" ] || [ "$("$bin" --version 2>/dev/null | head -n1 | cut -d' ' -f2)" != "$DENO_VERSION" ]; then
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-audit --no-fund --silent "deno@$DENO_VERSION" >&2
fi
echo "$bin"
