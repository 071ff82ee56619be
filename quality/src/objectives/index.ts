export * from './burn'
export { budgetOf, type ObjectiveBucket, objectiveBuckets } from './events'
export {
  ObjectiveMonitor,
  type ObjectiveMonitorOptions,
  type ObjectiveNotification,
  type ObjectiveStatus,
  objectiveStatus,
} from './monitor'
export { ObjectiveRepository } from './repository'
export * from './types'
