# Gateway image: compiled TypeScript on Node 20, production deps only, non-root (node, uid 1000).
# The build context is filtered by .dockerignore (no node_modules, .git or .env).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY lib lib
COPY apps apps
COPY types types
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev

# The compose lab's SIP callee (service sipp-uas, `target: sipp`): Debian's SIPp, on any
# architecture Debian builds; iproute2 for its healthcheck (ss).
FROM debian:bookworm-slim AS sipp
RUN apt-get update \
  && apt-get install -y --no-install-recommends sipp iproute2 \
  && rm -rf /var/lib/apt/lists/*
USER nobody
ENTRYPOINT ["sipp"]

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY package.json ./
# What compose mounts named volumes on must exist here, owned by the user the gateway runs as:
# Docker fills an empty named volume from the image's folder (content, owner, mode), and creates
# a root-owned one where the image has none, which uid 1000 cannot write (the audit id key).
#   /var/lib/gateway/audit    volume audit (audit-b): the audit chain and its .id-key
#   /etc/gateway/registry     volume registry: registry.json, starting empty; `registry add`
#                             writes a temp file beside it and renames it, so the folder is the
#                             user's, and the file 0600 (HA1 values are password-equivalent)
#   /etc/gateway/config       bind mount of sip-configs/gateway (read-only)
COPY sip-configs/gateway/registry.example.json /etc/gateway/registry/registry.json
RUN mkdir -p /var/lib/gateway/audit /etc/gateway/registry /etc/gateway/config \
  && chown -R node:node /var/lib/gateway/audit /etc/gateway/registry \
  && chmod 0700 /var/lib/gateway/audit /etc/gateway/registry \
  && chmod 0600 /etc/gateway/registry/registry.json
USER node
# /metrics + /health (+ POST /admin/reload), H.225 call signalling, RAS neighbour socket, fsmrf's
# outbound event-socket listener FreeSWITCH connects back to.
EXPOSE 8080 1720/tcp 1721/udp 8085/tcp
HEALTHCHECK --interval=10s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+(process.env.HTTP_PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# V8 flags: apps/gateway/node-flags.ts says why (a unit test keeps the two in step).
CMD ["node", "--min-semi-space-size=16", "--max-semi-space-size=16", "dist/apps/gateway/index.js"]
