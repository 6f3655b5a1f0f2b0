# Gateway image: compiled TypeScript on Node 20, production deps only, non-root.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY lib lib
COPY apps apps
COPY types types
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY package.json ./
USER node
# /metrics + /health (+ POST /admin/reload), H.225 call signalling, RAS neighbour socket, fsmrf's
# outbound event-socket listener FreeSWITCH connects back to.
EXPOSE 8080 1720/tcp 1721/udp 8085/tcp
HEALTHCHECK --interval=10s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+(process.env.HTTP_PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# V8 flags: apps/gateway/node-flags.ts says why (a unit test keeps the two in step).
CMD ["node", "--min-semi-space-size=16", "--max-semi-space-size=16", "dist/apps/gateway/index.js"]
