import { QualityError, type ScoreInput, ScoreRepository } from '@hindsight/quality'
import { createRoute, type z } from '@hono/zod-openapi'
import { BEARER, type PublicApiApp, type PublicApiDeps } from './context'
import { ERROR_RESPONSES, errorBody, IdParam, jsonResponse, notFoundResponse } from './errors'
import {
  ScoreBatchSchema,
  type ScoreBodySchema,
  ScoreConfigBodySchema,
  ScoreConfigListSchema,
  ScoreConfigSchema,
  ScoreCreateBodySchema,
  ScoreListSchema,
  ScoreSchema,
  ScoresQuery,
} from './quality-schemas'

const createScores = createRoute({
  method: 'post',
  path: '/scores',
  summary: 'Record one score or a batch',
  description:
    'Attach numeric, boolean or categorical scores to a trace or one of its spans. A score whose name ' +
    'has a score config is validated against it (type, range, categories). All scores of a batch are ' +
    'stored, or none: the 400 names the first bad one (`scores.3.value: ...`).',
  security: [BEARER],
  request: { body: { content: { 'application/json': { schema: ScoreCreateBodySchema } }, required: true } },
  responses: {
    201: jsonResponse(ScoreBatchSchema, 'The stored scores, in the order sent.'),
    ...ERROR_RESPONSES,
  },
})

const listScores = createRoute({
  method: 'get',
  path: '/scores',
  summary: 'List scores, newest first',
  description: 'Filter by trace, name, source and creation time; cursor-paged.',
  security: [BEARER],
  request: { query: ScoresQuery },
  responses: {
    200: jsonResponse(ScoreListSchema, 'A page of scores.'),
    ...ERROR_RESPONSES,
  },
})

const deleteScore = createRoute({
  method: 'delete',
  path: '/scores/{id}',
  summary: 'Delete a score',
  description:
    'Removes the score from the list, its trace and every mean (`/metrics?score=`, objectives) at once. ' +
    'Scores are keyed by id in a ReplacingMergeTree: the delete writes a newer tombstone row under the same ' +
    'id, which merges keep in place of the score. To correct a score instead, `POST /scores` it again with ' +
    'the same `id`; sending the id of a deleted score stores it again.',
  security: [BEARER],
  request: { params: IdParam },
  responses: {
    200: jsonResponse(ScoreSchema, 'The deleted score, as it was.'),
    ...notFoundResponse("No such score in the key's project (or it is already deleted)."),
    ...ERROR_RESPONSES,
  },
})

const listConfigs = createRoute({
  method: 'get',
  path: '/score-configs',
  summary: 'Score configs of the project',
  security: [BEARER],
  responses: {
    200: jsonResponse(ScoreConfigListSchema, 'Every score config, by name.'),
    ...ERROR_RESPONSES,
  },
})

const upsertConfig = createRoute({
  method: 'post',
  path: '/score-configs',
  summary: 'Create or replace the score config of a name',
  description:
    'Scores of this name written afterwards must match it: a numeric range (inclusive), or one of the ' +
    'categories. Replacing a config keeps its id; stored scores are not rewritten.',
  security: [BEARER],
  request: { body: { content: { 'application/json': { schema: ScoreConfigBodySchema } }, required: true } },
  responses: {
    200: jsonResponse(ScoreConfigSchema, 'The stored config.'),
    ...ERROR_RESPONSES,
  },
})

type ScoreBody = z.infer<typeof ScoreBodySchema>

function toInput(body: ScoreBody): ScoreInput {
  return {
    ...(body.id !== undefined ? { id: body.id } : {}),
    traceId: body.traceId,
    ...(body.spanId !== undefined ? { spanId: body.spanId } : {}),
    name: body.name,
    value: body.value,
    ...(body.dataType !== undefined ? { dataType: body.dataType } : {}),
    source: body.source ?? 'api',
    ...(body.comment !== undefined ? { comment: body.comment } : {}),
    ...(body.author !== undefined ? { author: body.author } : {}),
    ...(body.metadata !== undefined ? { metadata: body.metadata } : {}),
  }
}

/**
 * The message of a quality-layer refusal of bad input (`<field>: <what is wrong>`), for a 400;
 * any other error is re-thrown and becomes the API's 500.
 */
export function badInputMessage(error: unknown): string {
  if (QualityError.isInstance(error) && error.code === 'invalid_input') return error.message
  throw error
}

interface Issue {
  code: string
  path: PropertyKey[]
  message: string
  errors?: Issue[][]
}

/**
 * The body is one score or an array of them; a failed union would only say "Invalid input".
 * This picks the branch the caller meant (the one not failing at the root) and names the field:
 * `score.value: ...` or `scores.3.value: ...`.
 */
export function describeScoreBodyError(issues: readonly Issue[]): string {
  const lines = issues.flatMap((issue) => {
    const branches = issue.code === 'invalid_union' && issue.errors ? issue.errors : null
    if (!branches) return [{ issue, root: 'score' }]
    const index = branches.findIndex((b) => !(b.length === 1 && b[0]?.path.length === 0))
    const chosen = branches[index] ?? branches[0] ?? []
    // Branch 0 is the single score, branch 1 the array (ScoreCreateBodySchema).
    return chosen.map((i) => ({ issue: i, root: index === 1 ? 'scores' : 'score' }))
  })
  return lines
    .map(({ issue, root }) => {
      const path = [root, ...issue.path.map(String)].join('.')
      const message =
        issue.code === 'invalid_union' ? 'must be a number, true/false or a category label' : issue.message
      return `${path}: ${message}`
    })
    .join('; ')
}

export function registerScoreRoutes(app: PublicApiApp, deps: PublicApiDeps): void {
  const scores = new ScoreRepository(deps.storage)

  app.openapi(
    createScores,
    async (c) => {
      const body = c.req.valid('json')
      const batch = Array.isArray(body)
      try {
        const stored = await scores.create(c.get('projectId'), (batch ? body : [body]).map(toInput), {
          field: batch ? 'scores' : 'score',
          indexed: batch,
        })
        return c.json({ data: stored }, 201)
      } catch (error) {
        return c.json(errorBody('bad_request', badInputMessage(error)), 400)
      }
    },
    (result, c) => {
      if (result.success) return undefined
      return c.json(
        errorBody('bad_request', describeScoreBodyError(result.error.issues as readonly Issue[])),
        400,
      )
    },
  )

  app.openapi(listScores, async (c) => {
    const q = c.req.valid('query')
    try {
      const page = await scores.list(c.get('projectId'), {
        ...(q.traceId ? { traceId: q.traceId } : {}),
        ...(q.name ? { name: q.name } : {}),
        ...(q.source ? { source: q.source } : {}),
        ...(q.from ? { from: new Date(q.from) } : {}),
        ...(q.to ? { to: new Date(q.to) } : {}),
        ...(q.limit ? { limit: q.limit } : {}),
        ...(q.cursor ? { cursor: q.cursor } : {}),
      })
      return c.json({ data: page.items, next_cursor: page.next_cursor }, 200)
    } catch (error) {
      return c.json(errorBody('bad_request', badInputMessage(error)), 400)
    }
  })

  app.openapi(deleteScore, async (c) => {
    const { id } = c.req.valid('param')
    try {
      return c.json(await scores.delete(c.get('projectId'), id), 200)
    } catch (error) {
      if (QualityError.isInstance(error) && error.code === 'not_found') {
        return c.json(errorBody('not_found', error.message), 404)
      }
      return c.json(errorBody('bad_request', badInputMessage(error)), 400)
    }
  })

  app.openapi(listConfigs, async (c) => c.json({ data: await scores.listConfigs(c.get('projectId')) }, 200))

  app.openapi(upsertConfig, async (c) => {
    const body = c.req.valid('json')
    try {
      return c.json(await scores.upsertConfig(c.get('projectId'), body), 200)
    } catch (error) {
      return c.json(errorBody('bad_request', badInputMessage(error)), 400)
    }
  })
}
