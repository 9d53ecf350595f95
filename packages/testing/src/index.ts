export * from './db.ts';
export * from './fixtures.ts';
export * from './yahoo-server.ts';
export * from './smtp-sink.ts';
export * from './webhook-receiver.ts';
export * from './feed-server.ts';
export * from './logger.ts';
export * from './processes.ts';
