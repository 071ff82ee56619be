// Public API of @hindsight/quality: scores, score configs, datasets and evaluators.

export * from './annotation'
export { formatDatasetFile, MAX_IMPORT_ITEMS, parseDatasetFile } from './datasets/io'
export { DatasetRepository, MAX_TRACES_PER_ADD, type TraceSelection } from './datasets/repository'
export * from './datasets/types'
export { QualityError, type QualityErrorCode } from './errors'
export * from './evaluators'
export * from './objectives'
export * from './online'
export {
  getScoreDistributions,
  getScoreMeans,
  getScoreMeansByName,
  joinScoreMeans,
  MAX_DISTRIBUTION_BINS,
  type ScoreDistribution,
  type ScoreMeanRow,
  type ScoreMeansByNameQuery,
  type ScoreMeansQuery,
  type ScoreNameMeanRow,
} from './scores/metrics'
export { DELETED_STATUS, MAX_LIST_LIMIT, MAX_SCORES_PER_WRITE, ScoreRepository } from './scores/repository'
export * from './scores/types'
