# One image for server, worker and cli (the command picks the process).
#
# Node 26 is the current LTS line (Active LTS since 2026-10-28, supported until 2029-04-30);
# Node 20 reached its end of life on 2026-04-30. The tag is pinned to an exact release: move it
# on purpose (newest 26.x patch) and rebuild. trixie-slim is Debian 13, the default for Node 26.
FROM node:26.7.0-trixie-slim

WORKDIR /app
# The pnpm of package.json's packageManager, pinned.
RUN npm install -g pnpm@10.34.8 && npm cache clean --force
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml turbo.json tsconfig.base.json prisma.config.ts ./
COPY apps apps
COPY packages packages
COPY seeds seeds
COPY bench bench
COPY prisma prisma
COPY scripts scripts
RUN pnpm install --frozen-lockfile && node scripts/prisma-generate.mjs
# The production build (scripts/build.mjs, esbuild, ~2 s): one bundle per process in dist/. The
# containers run it with plain node; tsx stays installed for `pnpm cli ...` and the benches.
RUN node scripts/build.mjs

ENV NODE_ENV=production
# The code stays owned by root, read-only to the process: it runs as the image's unprivileged
# `node` user (uid 1000) and cannot change what it runs.
USER node
EXPOSE 3000
# The flags are the run command's (packages/config/src/launch.ts NODE_FLAGS: why they help).
CMD ["node", "--max-semi-space-size=8", "--max-old-space-size=512", "dist/server.mjs"]
