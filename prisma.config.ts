// Prisma CLI configuration (Prisma 7 reads the connection from here, not from schema.prisma).
// Only `prisma generate` is run by this project; migrations go through `pnpm db:migrate`.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/signals' },
});
