export {
  type BackupHeader,
  type BackupRefusal,
  BackupRefusedError,
  type BackupTrailer,
  FORMAT_VERSION as BACKUP_FORMAT_VERSION,
} from './archive.ts';
export { type BackupOptions, type BackupSummary, writeBackup } from './dump.ts';
export {
  type InspectResult,
  inspectBackup,
  type RestoreOptions,
  type RestoreSummary,
  restoreBackup,
} from './restore.ts';
