export { AnnotationQueueRepository, annotationScoreId, MAX_QUEUE_ITEMS } from './repository'
export * from './types'
