# syntax=docker/dockerfile:1
# Two stages: `build` has the dev dependencies (TypeScript, esbuild) and runs `npm run build`;
# `runtime` has only production dependencies plus the build output, and runs as a non-root user.
ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-slim AS build
WORKDIR /app
# Dependencies first, so editing sources does not reinstall them (layer cache).
# --ignore-scripts mirrors package.json's allowScripts (no dependency needs its install script to
# build: esbuild finds its platform binary package without its postinstall).
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.base.json ./
COPY scripts ./scripts
COPY src ./src
COPY views ./views
COPY public ./public
# dist/ (server) and public/build/ (browser bundle, precompiled macros).
RUN npm run build

FROM node:${NODE_VERSION}-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Production dependencies only. --ignore-scripts: bufferutil and utf-8-validate load prebuilt
# binaries at run time (ws falls back to JavaScript where none fits), and the other install
# scripts (@firebase/util, protobufjs) are disallowed in package.json's allowScripts as well.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
# The image carries the finished build: `npm start`'s prestart (scripts/ensure-build.mjs) would
# rebuild with dev dependencies that are not here, so CMD runs start's command directly.
COPY --from=build /app/dist ./dist
COPY --from=build /app/public ./public
COPY --from=build /app/views ./views
# Files stay owned by root: the app cannot rewrite its own code. It writes nothing to disk.
USER node
EXPOSE 3000
# /healthz answers 200 while the process and its store answer; PORT is honoured as main.ts does.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form: node is PID 1 and receives SIGTERM itself (graceful shutdown in main.ts).
CMD ["node", "dist/main.js"]
