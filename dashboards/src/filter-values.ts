import type { Storage } from '@hindsight/collector/storage'
import { z } from 'zod'
import { and, scope } from './filters'
import { queryRows, spansFinal } from './query'
import { assertRange } from './time'
import type { FilterValues, TimeRange } from './types'

/** Enough for a picker; a project with more distinct values needs search, not a longer list. */
const MAX_VALUES = 1000

const valuesRow = z.object({
  models: z.array(z.string()),
  providers: z.array(z.string()),
  releases: z.array(z.string()),
  names: z.array(z.string()),
})

/** Distinct non-empty values seen in the range, sorted, for filter pickers. */
export async function getFilterValues(
  storage: Storage,
  projectId: string,
  range: TimeRange,
): Promise<FilterValues> {
  assertRange(range)
  const where = scope(projectId, range)
  const sql = `SELECT
      arraySort(groupUniqArrayIf(${MAX_VALUES})(model, model != '')) AS models,
      arraySort(groupUniqArrayIf(${MAX_VALUES})(provider, provider != '')) AS providers,
      arraySort(groupUniqArrayIf(${MAX_VALUES})(release, release != '')) AS releases,
      arraySort(groupUniqArrayIf(${MAX_VALUES})(name, name != '')) AS names
    FROM ${spansFinal(storage)}
    WHERE ${and(where.conditions)}`
  const [row] = await queryRows(storage, sql, where.params, valuesRow)
  return row ?? { models: [], providers: [], releases: [], names: [] }
}

/** Whether the project has any span at all, to tell "no data yet" from "filter matches nothing". */
export async function hasSpans(storage: Storage, projectId: string): Promise<boolean> {
  // No FINAL: existence does not depend on de-duplication, and this stays a cheap key lookup.
  const rows = await queryRows(
    storage,
    `SELECT 1 AS found FROM ${storage.database}.spans WHERE project_id = {projectId:String} LIMIT 1`,
    { projectId },
    z.object({ found: z.unknown() }),
  )
  return rows.length > 0
}
