export * from './group.ts';
export * from './inhibit.ts';
export * from './intervals.ts';
export * from './pipeline.ts';
export * from './quiet-hours.ts';
export * from './route.ts';
export * from './silence.ts';
export type * from './types.ts';
export { INHIBIT_LABELS } from './types.ts';
