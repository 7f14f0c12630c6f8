#!/usr/bin/env bash
# Smoke test of a built proxmox-mcp, run from a fresh folder (not the checkout) against the
# embedded simulator: --version, tools, call guest_list, demo, the HTTP server's healthcheck and
# the stdio server answering tools/list. Usage: scripts/smoke.sh <command...>
#   scripts/smoke.sh ./dist/proxmox-mcp-x86_64-linux
#   scripts/smoke.sh deno run -P=server --no-prompt "$PWD/src/main.ts"
set -euo pipefail
[ "$#" -gt 0 ] || { echo "usage: $0 <proxmox-mcp command...>" >&2; exit 2; }
cmd=("$@")
case "${cmd[0]}" in /*) ;; */*) cmd[0]="$PWD/${cmd[0]}" ;; esac
work="$(mktemp -d)"
trap 'kill "${http_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
step() { echo "== $*"; }

step "--version"
"${cmd[@]}" --version | grep -E '^proxmox-mcp [0-9]'
step "tools"
"${cmd[@]}" tools --simulator | grep -q guest_list
step "call guest_list"
"${cmd[@]}" call guest_list '{"limit":3}' --simulator | grep -q vmid
step "demo"
"${cmd[@]}" demo > demo.log 2>&1 || { cat demo.log; exit 1; }
grep -q "That was a real MCP client" demo.log
step "HTTP server + healthcheck"
"${cmd[@]}" --simulator --http 127.0.0.1:0 2> http.log &
http_pid=$!
for _ in $(seq 1 100); do
  grep -qE 'Streamable HTTP at http://127\.0\.0\.1:[0-9]+/mcp' http.log && break
  sleep 0.2
done
address="$(grep -oE 'Streamable HTTP at http://127\.0\.0\.1:[0-9]+' http.log | grep -oE '127\.0\.0\.1:[0-9]+' | head -n1)"
[ -n "$address" ] || { cat http.log; exit 1; }
"${cmd[@]}" healthcheck --http "$address" | grep -q '^200 ok'
kill "$http_pid"; wait "$http_pid" || true; http_pid=
step "stdio tools/list"
printf '%s\n' \
  '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"smoke","version":"1"}}}' \
  '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
  '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' |
  timeout 30 "${cmd[@]}" --simulator 2>/dev/null | grep -q '"name":"guest_list"'
echo "smoke test passed"
