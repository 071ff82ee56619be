// `@hindsight/collector/retention`: per-project retention settings and their enforcement.
export {
  enforceRetention,
  type RetentionJob,
  type RetentionJobOptions,
  type RetentionRunOptions,
  type RetentionRunResult,
  startRetentionJob,
} from './retention'
export {
  checkRetentionDays,
  DEFAULT_RETENTION_DAYS,
  MAX_RETENTION_DAYS,
  ProjectSettingsRepository,
  type RetentionSetting,
} from './settings'
