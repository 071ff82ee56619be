/** Pure helpers of the datasets pages (tested in datasets.test.ts). */

/** The dataset picker's value for "create a new dataset". */
export const NEW_DATASET = '__new__'

/** A new dataset's suggested name: `traces-YYYY-MM-DD` (UTC). */
export function defaultDatasetName(now: Date): string {
  return `traces-${now.toISOString().slice(0, 10)}`
}

/** A link to one dataset on the datasets page, keeping the view's query (`base` is `href({}, '/datasets')`). */
export function datasetHref(base: string, datasetId: string, version?: number): string {
  const url = new URL(base, 'http://x')
  url.searchParams.set('dataset', datasetId)
  if (version === undefined) url.searchParams.delete('version')
  else url.searchParams.set('version', String(version))
  return `${url.pathname}${url.search}`
}

/** A JSON value as one line of a table cell: strings as they are, anything else as JSON. */
export function previewJson(value: unknown, max = 160): string {
  if (value === null || value === undefined) return ''
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}
