export { captureLogger, type LogLine } from '@signals/testing';
