// Public API of @hindsight/backtest: cohorts, candidates, the what-if engine, prompt-caching
// simulation, statistics, reports and the service the API, dashboard and CLI run back-tests with.
export { AB_MIN_CALLS, AB_MIN_TRACES, type AbOptions, runAb } from './ab'
export { abReportToHtml, abReportToMarkdown, abTitle, renderAnyReport } from './ab-report'
export {
  AB_COLUMNS,
  type AbArmSummary,
  type AbSpec,
  type AbSpecInput,
  type AbSummary,
  abSpecSchema,
  parseAbAttribute,
} from './ab-spec'
export {
  CACHE_RULES,
  type CacheRule,
  type CacheRules,
  findCacheRule,
  parseCacheRules,
} from './caching/rules'
export {
  type PrefixTransform,
  type SimulationOptions,
  type SimulationResult,
  simulateCaching,
} from './caching/simulate'
export { type CallQuery, type CallTable, loadCalls } from './calls'
export {
  type CandidateInput,
  type CandidateSpec,
  candidateLabel,
  candidateSchema,
  type EvaluationInput,
  type EvaluationSpec,
  evaluationSchema,
  type ObjectiveKey,
  type Objectives,
  objectivesSchema,
} from './candidate'
export {
  allocate,
  type Cohort,
  type CohortFilter,
  type CohortSample,
  cohortFilterSchema,
  cohortTraceIds,
  createCohort,
  getCohort,
  sampleSchema,
} from './cohort'
export {
  type Arm,
  type ArmScores,
  armScoreId,
  armTraceId,
  type EvaluateReplayOptions,
  type EvaluationHooks,
  type EvaluatorQuality,
  evaluateReplay,
  loadArmScores,
  type QualityEvaluation,
  referenceF1,
  rulesForCohort,
  tokenF1,
} from './evaluate'
export { qualityRow, qualityRows } from './evaluate-metrics'
export { type LatencyDistribution, loadLatencyDistribution, projectLatency } from './latency'
export { emptyMetricRow } from './metric-row'
export { candidatePrice, fromNano, priceCalls, toNano } from './pricing'
export {
  type CandidateAnswer,
  type CandidateClient,
  type CandidateClientOptions,
  type CandidateToolCall,
  createCandidateClient,
} from './replay/client'
export {
  MIN_REPLAY_CALLS,
  type ReplayMetric,
  type ReplayReportOptions,
  type ReplayRowOptions,
  replayMetricRows,
  replayMetrics,
  replayReport,
} from './replay/report'
export {
  type AnthropicRequest,
  type ChatRequest,
  DEFAULT_ANTHROPIC_MAX_TOKENS,
  NoContentError,
  placeBreakpoints,
  type RecordedCall,
  recordedToolCalls,
  toAnthropicRequest,
  toChatRequest,
  wantsStream,
} from './replay/request'
export {
  candidateCacheRule,
  loadReplayCalls,
  type ReplayOptions,
  type ReplayRun,
  type ReplayStatus,
  runReplay,
} from './replay/runner'
export { type ReplayCallRecord, ReplayCallStore, ReplayCallWriter, type ReplayResult } from './replay/store'
export {
  type BacktestReport,
  type MetricName,
  type MetricRow,
  type ObjectiveCheck,
  primaryQuality,
  type QualitySummary,
  REPORT_SCHEMA_VERSION,
  type ReplaySummary,
  type ReportFormat,
  renderReport,
  reportToCsv,
  reportToHtml,
  reportToMarkdown,
  type Triangle,
  type TriangleArm,
  triangle,
  type VerdictResult,
  verdict,
} from './report'
export {
  BacktestService,
  type BacktestServiceOptions,
  backtestServiceFor,
} from './service'
export * as stats from './stats'
export {
  BACKTEST_MODES,
  BACKTEST_STATUSES,
  type BacktestMode,
  type BacktestRecord,
  type BacktestRequest,
  type BacktestRequestInput,
  type BacktestStatus,
  BacktestStore,
  backtestRequestSchema,
} from './store'
export {
  BacktestInputError,
  checkCandidate,
  MIN_CALLS,
  MIN_TRACES,
  runWhatIf,
  type WhatIfOptions,
  type WhatIfTimings,
} from './whatif'
