export * from './decode.ts';
export * from './dedup.ts';
export * from './errors.ts';
export * from './fetch-feed.ts';
export * from './ingest.ts';
export type { NewsItemToStore } from '@signals/core';
export * from './parse.ts';
export * from './recorded.ts';
export * from './tagging.ts';
