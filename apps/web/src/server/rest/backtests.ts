/**
 * Back-tests over the public API: start a what-if, a replay or a live A/B on a cohort of recorded
 * traffic, poll its status and progress, fetch the report (JSON, or Markdown, HTML or CSV
 * renderings of it).
 */
import {
  BACKTEST_STATUSES,
  BacktestInputError,
  type BacktestRecord,
  backtestRequestSchema,
  backtestServiceFor,
  candidateSchema,
  evaluationSchema,
  objectivesSchema,
  renderReport,
} from '@hindsight/backtest'
import { createRoute, z } from '@hono/zod-openapi'
import { ZodError } from 'zod'
import { BEARER, type PublicApiApp, type PublicApiDeps } from './context'
import { describeZodError, ERROR_RESPONSES, errorBody, jsonResponse } from './errors'

const BacktestErrorSchema = z
  .object({
    error: z.object({
      code: z.enum(['bad_request', 'not_found', 'not_ready']),
      message: z.string(),
    }),
  })
  .openapi('BacktestError')

const BacktestParams = z.object({
  id: z
    .string()
    .regex(/^bt_[0-9a-f]{32}$/, 'must be a back-test id such as bt_…')
    .openapi({ param: { name: 'id', in: 'path' }, example: 'bt_0123456789abcdef0123456789abcdef' }),
})

const ReportQuery = z.object({
  format: z
    .enum(['json', 'md', 'html', 'csv'])
    .default('json')
    .openapi({ param: { name: 'format', in: 'query' }, description: 'json (default), md, html or csv.' }),
})

const BacktestSchema = z
  .object({
    id: z.string(),
    mode: z.enum(['what_if', 'replay', 'ab']),
    status: z.enum(BACKTEST_STATUSES).openapi({
      description:
        '`stopped_budget`: a replay stopped at its budget cap (the report has the partial results).',
    }),
    progress: z.number().openapi({ description: '0–1 (replay: calls done / total).' }),
    message: z.string().openapi({ description: 'The current step, the verdict summary, or why it failed.' }),
    cohort_id: z.string().openapi({ description: "The frozen cohort ('' until it is frozen)." }),
    created_at: z.string().openapi({ format: 'date-time' }),
    updated_at: z.string().openapi({ format: 'date-time' }),
    request: z
      .record(z.string(), z.unknown())
      .openapi({ description: 'The request as validated (defaults filled).' }),
    links: z.object({ self: z.string(), report: z.string() }),
  })
  .openapi('Backtest')

const MetricSchema = z
  .object({
    name: z.string(),
    label: z.string(),
    unit: z.enum(['usd', 'ms', 'rate', 'score', 'tokens', 'chars']),
    baseline: z.number().nullable(),
    candidate: z.number().nullable(),
    delta: z.number().nullable().openapi({ description: 'candidate − baseline' }),
    ci_low: z.number().nullable().openapi({ description: '95% interval of the delta' }),
    ci_high: z.number().nullable(),
    ratio: z.number().nullable(),
    ratio_ci_low: z.number().nullable(),
    ratio_ci_high: z.number().nullable(),
    p_value: z.number().nullable(),
    p_value_adjusted: z.number().nullable(),
    n: z.number().int(),
    clusters: z.number().int(),
    mde: z.number().nullable().openapi({ description: 'Minimum detectable delta (80% power, α = 0.05).' }),
    n_needed: z.number().nullable(),
    method: z.string(),
    projection: z.boolean().openapi({ description: 'A projection (what-if latency), not a measurement.' }),
    score: z.string().optional().openapi({
      description:
        'Quality rows only: the score (evaluator) the row is about — one `quality` row per evaluator in a replay with `evaluation`, per score name in a live A/B.',
    }),
    better: z.enum(['lower', 'higher']),
    candidate_ci_low: z
      .number()
      .nullable()
      .openapi({ description: "The candidate's own 95% interval (what min/max objectives are checked on)." }),
    candidate_ci_high: z.number().nullable(),
    test: z
      .object({ name: z.string(), statistic: z.number(), p_value: z.number(), method: z.string() })
      .nullable()
      .openapi({
        description: 'Robustness test: Wilcoxon signed-rank / McNemar (paired), Mann–Whitney (A/B).',
      }),
    win_tie_loss: z
      .object({ wins: z.number().int(), ties: z.number().int(), losses: z.number().int() })
      .nullable()
      .openapi({ description: 'Per paired call (null for a live A/B: unpaired).' }),
    note: z.string().nullable(),
  })
  .passthrough()
  .openapi('BacktestMetric')

const QualitySectionSchema = z
  .object({
    reference: z.enum(['recorded', 'none']).openapi({
      description:
        'What reference evaluators compare an answer with: the recorded answer (on the baseline arm the recording is compared with itself, so the paired delta is the loss of agreement).',
    }),
    evaluators: z.array(
      z.object({
        name: z.string(),
        data_type: z.enum(['numeric', 'boolean', 'categorical']),
        better: z.enum(['higher', 'lower']),
        origin: z.enum(['request', 'rule']),
        rule_id: z.string().nullable(),
        paired: z.number().int().openapi({ description: 'Calls scored in both arms.' }),
        failed: z.object({ baseline: z.number().int(), candidate: z.number().int() }),
      }),
    ),
    primary: z
      .string()
      .nullable()
      .openapi({ description: 'The score the quality objectives and the triangle use.' }),
    calls: z.number().int(),
    scored: z.number().int(),
    resumed: z.number().int(),
    eval_cost_usd: z.number(),
    storage: z.string(),
  })
  .openapi('BacktestQuality')

const Interval = z.tuple([z.number(), z.number()]).nullable()
const TriangleArmSchema = z.object({
  quality: z.number().nullable(),
  quality_ci: Interval,
  cost_per_call_usd: z.number().nullable(),
  cost_ci: Interval,
  latency_p50_ms: z.number().nullable(),
  latency_p95_ms: z.number().nullable(),
  latency_p95_ci: Interval,
})

const TriangleSchema = z
  .object({
    quality_score: z
      .string()
      .nullable()
      .openapi({ description: 'The quality score plotted (null: not measured).' }),
    quality_unit: z.enum(['usd', 'ms', 'rate', 'score', 'tokens', 'chars']).nullable(),
    baseline: TriangleArmSchema,
    candidate: TriangleArmSchema,
    latency_projection: z.boolean(),
  })
  .openapi('BacktestTriangle')

const CheckSchema = z
  .object({
    objective: z.string(),
    threshold: z.number(),
    comparator: z
      .enum(['≤', '≥'])
      .openapi({ description: 'The interval must be at most (≤) or at least (≥) the threshold.' }),
    metric: z.string(),
    score: z.string().optional().openapi({ description: 'Quality objectives: the score they are about.' }),
    value: z.number().nullable(),
    ci_low: z.number().nullable(),
    ci_high: z.number().nullable(),
    result: z.enum(['pass', 'fail', 'inconclusive']),
    reason: z.string(),
    n_needed: z.number().nullable(),
  })
  .openapi('BacktestObjectiveCheck')

const AbArmSchema = z.object({
  value: z.string(),
  traces: z.number().int(),
  calls: z.number().int(),
  first_call: z.string().nullable(),
  last_call: z.string().nullable(),
  priced_calls: z.number().int(),
  error_calls: z.number().int(),
  cost_usd: z.string().openapi({ description: 'Recorded cost of the arm, exact decimal USD.' }),
  models: z.array(z.object({ provider: z.string(), model: z.string(), calls: z.number().int() })),
  routes: z.array(z.object({ route: z.string(), calls: z.number().int() })),
  mean_input_tokens: z.number().nullable(),
})

const AbSectionSchema = z
  .object({
    attribute: z.string(),
    attribute_kind: z.enum(['column', 'tag', 'attribute']),
    design: z.literal('unpaired'),
    cluster_by: z.literal('trace'),
    baseline: AbArmSchema,
    candidate: AbArmSchema,
    excluded_traces: z.object({ both: z.number().int(), neither: z.number().int() }),
    time: z.object({
      overlap_fraction: z.number().nullable().openapi({
        description: "Overlap of the arms' time ranges over their union (0: they never ran side by side).",
      }),
      note: z.string(),
    }),
    traffic_mix: z.object({
      route_distance: z.number().nullable(),
      model_distance: z.number().nullable(),
      input_tokens_delta: z.number().nullable(),
      input_tokens_ci_low: z.number().nullable(),
      input_tokens_ci_high: z.number().nullable(),
      comparable: z.boolean(),
      note: z.string(),
    }),
    win_tie_loss: z.null(),
    win_tie_loss_note: z.string(),
  })
  .openapi('BacktestAbSection')

const ReportSchema = z
  .object({
    schema_version: z.number().int(),
    mode: z.enum(['what_if', 'replay', 'ab']),
    replay: z
      .object({
        status: z.enum(['done', 'stopped_budget', 'aborted']),
        total: z.number().int(),
        resumed: z.number().int(),
        issued: z.number().int(),
        failed: z.number().int(),
        paired_calls: z.number().int(),
        spent_usd: z.number(),
        budget_usd: z.number().nullable(),
        base_url: z.string().nullable(),
      })
      .optional()
      .openapi({ description: 'Replay only: calls issued to the candidate, spend, paired calls.' }),
    ab: AbSectionSchema.optional().openapi({
      description:
        "Live A/B only: each arm's traces, calls, time range and recorded cost, traces left out, time overlap and traffic mix.",
    }),
    metrics: z.array(MetricSchema),
    quality: QualitySectionSchema.optional().openapi({
      description:
        'Replay with `evaluation` only: how both arms were scored (evaluators, paired and failed counts, primary score, judge cost, where the scores are stored); the rows are the `quality` metrics.',
    }),
    triangle: TriangleSchema.optional().openapi({
      description:
        'The intelligence–cost–latency triangle, baseline vs candidate: per arm quality, cost per call and latency p50/p95, with the intervals.',
    }),
    verdict: z.object({
      result: z.enum(['pass', 'fail', 'inconclusive']),
      summary: z.string(),
      checks: z.array(CheckSchema),
    }),
    totals: z.record(z.string(), z.unknown()),
    caching: z.record(z.string(), z.unknown()),
  })
  .passthrough()
  .openapi('BacktestReport')

/** The request body: `candidate` may be omitted in mode `ab` (the service labels the arm). */
const CreateBodySchema = backtestRequestSchema.extend({
  candidate: candidateSchema
    .optional()
    .describe("Required for what_if and replay; omitted in mode 'ab' (the candidate arm is `ab.candidate`)."),
  objectives: objectivesSchema
    .default({})
    .describe(
      'Defined in advance; each is checked on a 95% interval (pass when wholly on the right side, fail when wholly on the wrong side, else inconclusive). ' +
        '`cost_per_call_max_ratio`, `cost_per_call_max_usd`, `latency_p95_max_ms`, `latency_p50_max_ms`; quality (replay with `evaluation`, or a live A/B on stored scores): ' +
        "`min_quality` (the candidate's mean score / pass rate at least this), `max_quality_regression` (non-inferiority on the paired delta: the candidate may lose at most this much; " +
        '0 = no regression), `quality_score` (the evaluator / score name they use; default the first evaluator).',
    ),
  evaluation: evaluationSchema
    .optional()
    .describe(
      "Mode 'replay' only (400 otherwise): score both arms (recorded answer and candidate answer) with the same evaluators. " +
        '`evaluators`: `{ type: "builtin", evaluator: "exact_match" | "contains" | "valid_json" | "length_bounds" | "refusal" | …, options }`, ' +
        '`{ type: "custom", evaluator: "reference_f1" }`, `{ type: "judge", rubric: "correctness" | "helpfulness" | …, endpoint: { provider, model, apiKeyEnv } }`; ' +
        '`rules: "route"` adds the project\'s online evaluation rules for the cohort\'s routes (or a list of rule ids); `reference`: `recorded` (default) or `none`. ' +
        'Scores are stored (source `evaluator`, `metadata.backtest_id`, `metadata.arm`) and the report gets one `quality` row per evaluator, the `quality` section and the triangle.',
    ),
})

const createRouteDef = createRoute({
  method: 'post',
  path: '/backtests',
  summary: 'Start a back-test',
  description:
    'Freezes the cohort (a filter and optional seeded sample, or an existing cohort id) and runs the ' +
    "candidate against it. Mode `what_if` (instant, no model calls): re-prices the recorded usage at the candidate's " +
    'prices, simulates prompt caching with the provider rules and projects latency. Mode `replay` re-issues every ' +
    'recorded LLM call to the candidate — `api: "openai"` (any OpenAI-compatible `base_url`, required) or `api: "anthropic"` ' +
    '(Messages API; `base_url` defaults to api.anthropic.com; `caching: "on"` places `cache_control` breakpoints), streaming when ' +
    'the recorded call streamed or `parameters.stream` is true (candidate TTFT measured) — with `concurrency`, `rate_limit_rpm` and ' +
    'a `budget_usd` cap, resumable after a restart, and reports paired per-call deltas; with `evaluation` both arms are scored by ' +
    'the same evaluators and quality enters the verdict. Mode `ab` (live A/B, ' +
    'no calls, no `candidate` needed) compares two arms of production traffic — `ab: { attribute: "release", baseline: ' +
    '"v1", candidate: "v2" }`, or any span column, `tag`, `metadata.<key>` or attribute — as two independent samples ' +
    "(Welch-type intervals, unpaired bootstrap, Newcombe, Mann–Whitney, Holm) and reports each arm's n and time range. " +
    'Poll `GET /backtests/{id}` until `status` is `done` (or `stopped_budget`), then fetch the report.',
  security: [BEARER],
  request: { body: { required: true, content: { 'application/json': { schema: CreateBodySchema } } } },
  responses: {
    202: jsonResponse(BacktestSchema, 'Started.'),
    ...ERROR_RESPONSES,
  },
})

const getRouteDef = createRoute({
  method: 'get',
  path: '/backtests/{id}',
  summary: 'Status and progress of a back-test',
  security: [BEARER],
  request: { params: BacktestParams },
  responses: {
    200: jsonResponse(BacktestSchema, 'The back-test.'),
    404: jsonResponse(BacktestErrorSchema, 'No such back-test in this project.'),
    ...ERROR_RESPONSES,
  },
})

const reportRouteDef = createRoute({
  method: 'get',
  path: '/backtests/{id}/report',
  summary: 'The report of a finished back-test',
  description:
    'Per metric: baseline, candidate, delta with its 95% interval, ratio with its interval, p-value (and Holm-adjusted), ' +
    'n, clusters, minimum detectable effect, robustness test, win/tie/loss; quality rows (one per evaluator, `score` names it); ' +
    'the `quality` section (replay with evaluation), the intelligence–cost–latency `triangle`; the verdict against the ' +
    'objectives (each check with its comparator). `format=md|html|csv` renders the same JSON.',
  security: [BEARER],
  request: { params: BacktestParams, query: ReportQuery },
  responses: {
    200: {
      description: 'The report.',
      content: {
        'application/json': { schema: ReportSchema },
        'text/markdown': { schema: z.string() },
        'text/html': { schema: z.string() },
        'text/csv': { schema: z.string() },
      },
    },
    404: jsonResponse(BacktestErrorSchema, 'No such back-test.'),
    409: jsonResponse(BacktestErrorSchema, 'Not finished yet (or failed): the message says which.'),
    ...ERROR_RESPONSES,
  },
})

const CONTENT_TYPES = {
  md: 'text/markdown; charset=utf-8',
  html: 'text/html; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
} as const

function publicRecord(record: BacktestRecord, base: string) {
  const self = `${base}/backtests/${record.id}`
  return {
    id: record.id,
    mode: record.mode,
    status: record.status,
    progress: record.progress,
    message: record.message,
    cohort_id: record.cohort_id,
    created_at: record.created_at,
    updated_at: record.updated_at,
    request: record.request as unknown as Record<string, unknown>,
    links: { self, report: `${self}/report` },
  }
}

/** `/api/public/v1` as the request saw it, for links. */
function basePath(path: string): string {
  const at = path.indexOf('/backtests')
  return at >= 0 ? path.slice(0, at) : ''
}

export function registerBacktestRoutes(app: PublicApiApp, deps: PublicApiDeps): void {
  const service = backtestServiceFor(deps.storage)

  app.openapi(createRouteDef, async (c) => {
    try {
      const record = await service.start(c.get('projectId'), c.req.valid('json'))
      return c.json(publicRecord(record, basePath(c.req.path)), 202)
    } catch (error) {
      if (error instanceof ZodError)
        return c.json(errorBody('bad_request', describeZodError(error, 'body')), 400)
      if (error instanceof BacktestInputError) return c.json(errorBody('bad_request', error.message), 400)
      throw error
    }
  })

  app.openapi(getRouteDef, async (c) => {
    const { id } = c.req.valid('param')
    const record = await service.store.get(c.get('projectId'), id)
    if (!record)
      return c.json(
        { error: { code: 'not_found' as const, message: `no back-test ${id} in this project` } },
        404,
      )
    return c.json(publicRecord(record, basePath(c.req.path)), 200)
  })

  app.openapi(reportRouteDef, async (c) => {
    const { id } = c.req.valid('param')
    const { format } = c.req.valid('query')
    const projectId = c.get('projectId')
    const record = await service.store.get(projectId, id)
    if (!record)
      return c.json(
        { error: { code: 'not_found' as const, message: `no back-test ${id} in this project` } },
        404,
      )
    if (record.status !== 'done' && record.status !== 'stopped_budget') {
      const message =
        record.status === 'failed'
          ? `back-test ${id} failed: ${record.message}`
          : `back-test ${id} is ${record.status} (${Math.round(record.progress * 100)}%: ${record.message}); poll GET /backtests/${id}`
      return c.json({ error: { code: 'not_ready' as const, message } }, 409)
    }
    const report = await service.store.report(projectId, id)
    if (!report)
      return c.json({ error: { code: 'not_ready' as const, message: `back-test ${id} has no report` } }, 409)
    if (format === 'json') return c.json(report as unknown as z.infer<typeof ReportSchema>, 200)
    return c.body(renderReport(report, format), 200, { 'content-type': CONTENT_TYPES[format] })
  })
}
