# One image for server, worker and cli (the command picks the process).
FROM node:20-bookworm-slim
WORKDIR /app
RUN npm install -g pnpm@10.34.8
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml turbo.json tsconfig.base.json prisma.config.ts ./
COPY apps apps
COPY packages packages
COPY seeds seeds
COPY bench bench
COPY prisma prisma
COPY scripts scripts
RUN pnpm install --frozen-lockfile && node scripts/prisma-generate.mjs
ENV NODE_ENV=production
EXPOSE 3000
CMD ["node", "--import", "tsx", "apps/server/src/main.ts"]
