# proxmox-mcp container: the compiled binary on distroless (glibc, no shell), non-root, serving
# MCP over Streamable HTTP on PROXMOX_MCP_LISTEN (default 0.0.0.0:8080). The binary carries the permission flags of deno.json
# ("permissions": {"server": ...}), rendered by scripts/permissions.ts at compile time.
#
#   docker build -t proxmox-mcp .
#   docker run --read-only --cap-drop ALL -p 127.0.0.1:8080:8080 \
#     -v "$PWD/proxmox-mcp:/etc/proxmox-mcp:ro" \
#     -e PROXMOX_MCP_HTTP_TOKEN_FILE=/etc/proxmox-mcp/http-token proxmox-mcp
#
# Mounted configuration (read-only), in /etc/proxmox-mcp (the working directory):
#   config.json   the Proxmox connection (or PROXMOX_* variables instead)
#   ca.pem        the cluster CA (/etc/pve/pve-root-ca.pem), referenced as "ca_file": "ca.pem"
#   http-token    the bearer token clients send (or PROXMOX_MCP_HTTP_TOKEN)
# Writable: /var/lib/proxmox-mcp (the audit log, PROXMOX_AUDIT_LOG) and /tmp.

# The build stage runs on the build machine's platform and cross-compiles for the target's.
FROM --platform=$BUILDPLATFORM denoland/deno:2.9.6 AS build
ARG TARGETARCH=amd64
WORKDIR /src
COPY deno.json deno.lock ./
COPY scripts ./scripts
COPY src ./src
RUN case "$TARGETARCH" in \
      amd64) target=x86_64-unknown-linux-gnu ;; \
      arm64) target=aarch64-unknown-linux-gnu ;; \
      *) echo "unsupported architecture $TARGETARCH" >&2; exit 1 ;; \
    esac \
 && deno task compile "$target" \
 && cp dist/proxmox-mcp-*-linux /proxmox-mcp \
 && mkdir -p /rootfs/etc/proxmox-mcp /rootfs/var/lib/proxmox-mcp

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /proxmox-mcp /usr/local/bin/proxmox-mcp
COPY --from=build --chown=65532:65532 /rootfs/var/lib/proxmox-mcp /var/lib/proxmox-mcp
COPY --from=build /rootfs/etc/proxmox-mcp /etc/proxmox-mcp
USER 65532:65532
WORKDIR /etc/proxmox-mcp
ENV PROXMOX_AUDIT_LOG=/var/lib/proxmox-mcp/audit.jsonl
# Where `serve` listens and `healthcheck` probes: change the address here (-e), not with --http,
# and the health check follows.
ENV PROXMOX_MCP_LISTEN=0.0.0.0:8080
EXPOSE 8080
# The image has no shell or curl: the binary probes its own /healthz at PROXMOX_MCP_LISTEN.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/proxmox-mcp", "healthcheck"]
# PID 1: the server handles SIGTERM and SIGINT itself (drains calls in flight, then exits 0).
ENTRYPOINT ["/usr/local/bin/proxmox-mcp"]
CMD ["serve"]
