'use client'
/**
 * Back-tests: "what if we moved these calls to model B, with caching?" on the page's time range —
 * instantly (what-if: re-priced, simulated, no calls), or replayed against the candidate with both
 * arms evaluated by the same evaluators (replay) — or a live A/B of two releases (any attribute
 * values) of the recorded production traffic. The form starts a run; the run is polled (progress
 * bar); the report JSON is rendered as a metric table with 95% intervals, the quality rows (per
 * evaluator: win/tie/loss, paired test), the verdict against the objectives, and the
 * intelligence–cost–latency triangle (chart and table). `?backtest=<id>` in the URL selects a run.
 */
import type { BacktestReport } from '@hindsight/backtest'
import { useMutation, useQuery } from '@tanstack/react-query'
import { useRouter, useSearchParams } from 'next/navigation'
import { type FormEvent, useState } from 'react'
import {
  CartesianGrid,
  ErrorBar,
  Legend,
  ResponsiveContainer,
  Scatter,
  ScatterChart,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts'
import { Field } from '../../../components/field'
import { ProjectGate } from '../../../components/project-gate'
import { Empty, ErrorState, Loading } from '../../../components/states'
import { formatDateTime, parseTimestamp } from '../../../lib/format'
import { useTRPC } from '../../../lib/trpc'
import { useView } from '../../../lib/use-view'
import {
  type EvaluationChoices,
  evaluationFromChoices,
  JUDGE_RUBRICS,
  SIMPLE_EVALUATORS,
} from '../lib/evaluation-form'
import {
  abArms,
  checkLabel,
  formatInterval,
  formatMetric,
  formatP,
  formatRatio,
  qualityView,
  trianglePoints,
  triangleRows,
} from '../lib/report-view'

const PROVIDERS = ['openai', 'anthropic', 'gcp.gemini', 'deepseek'] as const

function backtestHref(base: string, id: string): string {
  const url = new URL(base, 'http://x')
  url.searchParams.set('backtest', id)
  return `${url.pathname}${url.search}`
}

export function BacktestsPage() {
  return <ProjectGate>{(projectId) => <Backtests projectId={projectId} />}</ProjectGate>
}

function numberOrUndefined(text: FormDataEntryValue | null): number | undefined {
  const n = Number(String(text ?? '').trim())
  return String(text ?? '').trim() === '' || !Number.isFinite(n) ? undefined : n
}

function Backtests({ projectId }: { projectId: string }) {
  const trpc = useTRPC()
  const router = useRouter()
  const params = useSearchParams()
  const { view, rangeInput, href } = useView()
  const selected = params.get('backtest')
  const base = href({}, '/backtests')
  const models = useQuery(trpc.backtests.models.queryOptions({ projectId, ...rangeInput }))
  const releases = useQuery(trpc.backtests.releases.queryOptions({ projectId, ...rangeInput }))
  const [mode, setMode] = useState<Mode>('what_if')
  const [judgeOn, setJudgeOn] = useState(false)
  const list = useQuery({
    ...trpc.backtests.list.queryOptions({ projectId }),
    refetchInterval: (q) =>
      q.state.data?.some((b) => b.status === 'queued' || b.status === 'running') ? 1000 : false,
  })
  const [error, setError] = useState<string | null>(null)
  const start = useMutation(
    trpc.backtests.start.mutationOptions({
      onSuccess: ({ id }) => {
        setError(null)
        void list.refetch()
        router.push(backtestHref(base, id))
      },
      onError: (e) => setError(e.message),
    }),
  )

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const data = new FormData(event.currentTarget)
    const text = (name: string) => String(data.get(name) ?? '').trim()
    const qualityObjectives = {
      min_quality: numberOrUndefined(data.get('minQuality')),
      max_quality_regression: numberOrUndefined(data.get('maxQualityRegression')),
      quality_score: text('qualityScore') || undefined,
    }
    const baseline = String(data.get('baseline') ?? '')
    const route = String(data.get('route') ?? '').trim()
    if (mode === 'ab') {
      const armBaseline = String(data.get('abBaseline') ?? '').trim()
      const armCandidate = String(data.get('abCandidate') ?? '').trim()
      if (!armBaseline || !armCandidate) return setError('Name both arms (e.g. two releases).')
      if (armBaseline === armCandidate) return setError('The two arms must differ.')
      return start.mutate({
        projectId,
        ...rangeInput,
        mode: 'ab',
        model: baseline ? [baseline] : undefined,
        route: route ? [route] : undefined,
        sampleSize: numberOrUndefined(data.get('sample')),
        ab: {
          attribute: String(data.get('abAttribute') ?? '').trim() || 'release',
          baseline: armBaseline,
          candidate: armCandidate,
        },
        objectives: {
          cost_per_call_max_ratio: numberOrUndefined(data.get('maxCostRatio')),
          latency_p95_max_ms: numberOrUndefined(data.get('maxP95')),
          min_quality: qualityObjectives.min_quality,
          quality_score: qualityObjectives.quality_score,
        },
      })
    }
    const candidateModel = text('candidateModel')
    if (!candidateModel) return setError('Name the candidate model.')
    const provider = text('provider') || 'openai'
    let evaluation: ReturnType<typeof evaluationFromChoices>
    if (mode === 'replay') {
      const choices: EvaluationChoices = {
        simple: data.getAll('evaluator').map(String),
        contains: text('containsValues'),
        lengthMin: text('lengthMin'),
        lengthMax: text('lengthMax'),
        judge: judgeOn
          ? {
              rubric: text('judgeRubric') || 'correctness',
              provider: text('judgeProvider'),
              model: text('judgeModel'),
              apiKeyEnv: text('judgeKeyEnv'),
              baseURL: text('judgeBaseUrl'),
            }
          : null,
        rules: data.get('evalRules') === 'on',
      }
      try {
        evaluation = evaluationFromChoices(choices)
      } catch (e) {
        return setError((e as Error).message)
      }
      const api = text('api') || (provider === 'anthropic' ? 'anthropic' : 'openai')
      if (api === 'openai' && !text('baseUrl'))
        return setError('An OpenAI-compatible candidate needs its base URL (e.g. https://api.openai.com/v1).')
    }
    start.mutate({
      projectId,
      ...rangeInput,
      mode: mode === 'replay' ? 'replay' : 'what_if',
      model: baseline ? [baseline] : undefined,
      route: route ? [route] : undefined,
      sampleSize: numberOrUndefined(data.get('sample')),
      candidate: {
        provider,
        model: candidateModel,
        caching: data.get('caching') === 'on' ? 'on' : 'off',
        ...(mode === 'replay'
          ? {
              api:
                text('api') === 'anthropic'
                  ? ('anthropic' as const)
                  : text('api') === 'openai'
                    ? ('openai' as const)
                    : undefined,
              base_url: text('baseUrl') || undefined,
              budget_usd: numberOrUndefined(data.get('budget')),
              concurrency: numberOrUndefined(data.get('concurrency')),
              stream: data.get('stream') === 'on' ? true : undefined,
            }
          : {}),
      },
      objectives: {
        cost_per_call_max_ratio: numberOrUndefined(data.get('maxCostRatio')),
        latency_p95_max_ms: numberOrUndefined(data.get('maxP95')),
        ...(mode === 'replay' ? qualityObjectives : {}),
      },
      ...(evaluation ? { evaluation } : {}),
    })
  }

  return (
    <div className="stack">
      <section className="panel">
        <header className="panel-head">
          <h3>{mode === 'ab' ? 'Live A/B' : mode === 'replay' ? 'Replay' : 'What if…'}</h3>
          {mode === 'ab' ? (
            <span className="muted small">
              Compares two releases (or any attribute values) on the production traffic recorded in the
              selected time range — two independent samples, no replay. Also available as{' '}
              <code>hindsight backtest ab</code> and <code>POST /api/public/v1/backtests</code> (mode{' '}
              <code>ab</code>).
            </span>
          ) : mode === 'replay' ? (
            <span className="muted small">
              Re-issues every recorded call in the selected time range to the candidate (real calls, paid by
              its endpoint’s key on the server; resumable, stops at the budget cap), scores both arms with the
              same evaluators and qualifies the verdict statistically. Also available as{' '}
              <code>hindsight backtest replay</code> and <code>POST /api/public/v1/backtests</code> (mode{' '}
              <code>replay</code>).
            </span>
          ) : (
            <span className="muted small">
              Re-prices the calls recorded in the selected time range under another model, simulates prompt
              caching with the provider’s rules and projects latency — instantly, without calling any model.
              Also available as <code>hindsight backtest what-if</code> and{' '}
              <code>POST /api/public/v1/backtests</code>.
            </span>
          )}
        </header>
        <form className="filters pad" onSubmit={submit} data-testid="backtest-form">
          <Field label="Mode">
            <select
              name="mode"
              value={mode}
              onChange={(e) => setMode(toMode(e.target.value))}
              data-testid="backtest-mode"
            >
              <option value="what_if">What-if (re-price, no calls)</option>
              <option value="replay">Replay (real calls, evaluated)</option>
              <option value="ab">Live A/B (two releases)</option>
            </select>
          </Field>
          <Field label="Calls of model">
            <select name="baseline" defaultValue="">
              <option value="">any model</option>
              {models.data?.map((m) => (
                <option key={m} value={m}>
                  {m}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Route">
            <input name="route" placeholder="any route" />
          </Field>
          {mode === 'ab' ? (
            <>
              <Field label="Arms by">
                <input
                  name="abAttribute"
                  defaultValue="release"
                  size={10}
                  title="release, model, provider, route, environment, service, tag, metadata.<key> or any attribute key"
                  data-testid="ab-attribute"
                />
              </Field>
              <Field label="Baseline arm">
                <input
                  name="abBaseline"
                  list="ab-values"
                  placeholder="e.g. v1.4.0"
                  data-testid="ab-baseline"
                  required
                />
              </Field>
              <Field label="Candidate arm">
                <input
                  name="abCandidate"
                  list="ab-values"
                  placeholder="e.g. v1.5.0"
                  data-testid="ab-candidate"
                  required
                />
              </Field>
              <datalist id="ab-values">
                {releases.data?.map((r) => (
                  <option key={r} value={r} />
                ))}
              </datalist>
            </>
          ) : (
            <>
              <Field label="Candidate provider">
                <select name="provider" defaultValue="openai">
                  {PROVIDERS.map((p) => (
                    <option key={p} value={p}>
                      {p}
                    </option>
                  ))}
                </select>
              </Field>
              <Field label="Candidate model">
                <input
                  name="candidateModel"
                  placeholder="e.g. gpt-4.1-mini"
                  data-testid="candidate-model"
                  required
                />
              </Field>
              <Field label="Prompt caching">
                <select name="caching" defaultValue="off">
                  <option value="off">off</option>
                  <option value="on">{mode === 'replay' ? 'on (requested)' : 'on (simulated)'}</option>
                </select>
              </Field>
              {mode === 'replay' ? <ReplayFields /> : null}
            </>
          )}
          <Field label="Max cost ratio">
            <input name="maxCostRatio" inputMode="decimal" placeholder="e.g. 0.8" size={6} />
          </Field>
          <Field label="Max p95 (ms)">
            <input name="maxP95" inputMode="numeric" placeholder="e.g. 4000" size={7} />
          </Field>
          <Field label="Sample traces">
            <input name="sample" inputMode="numeric" placeholder="all" size={6} />
          </Field>
          {mode !== 'what_if' ? <QualityObjectiveFields mode={mode} /> : null}
          {mode === 'replay' ? <EvaluationFields judgeOn={judgeOn} onJudge={setJudgeOn} /> : null}
          <button type="submit" className="btn primary" disabled={start.isPending} data-testid="run-backtest">
            {start.isPending
              ? 'Starting…'
              : mode === 'ab'
                ? 'Run A/B'
                : mode === 'replay'
                  ? 'Run replay'
                  : 'Run what-if'}
          </button>
          {error ? (
            <span className="error-text" role="alert" data-testid="backtest-error">
              {error}
            </span>
          ) : null}
        </form>
      </section>

      {selected ? <BacktestRun projectId={projectId} id={selected} /> : null}

      <section className="panel">
        <header className="panel-head">
          <h3>Recent back-tests</h3>
        </header>
        {list.isPending ? <Loading label="Loading back-tests…" /> : null}
        {list.isError ? <ErrorState error={list.error} onRetry={() => void list.refetch()} /> : null}
        {list.data && list.data.length === 0 ? (
          <Empty title="No back-test yet">Pick a candidate model above and run a what-if.</Empty>
        ) : null}
        {list.data && list.data.length > 0 ? (
          <table className="table">
            <thead>
              <tr>
                <th>Started</th>
                <th>Candidate</th>
                <th>Status</th>
                <th>Result</th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((b) => (
                <tr
                  key={b.id}
                  className={`clickable${b.id === selected ? ' selected' : ''}`}
                  onClick={() => router.push(backtestHref(base, b.id))}
                >
                  <td className="mono nowrap">{formatDateTime(parseTimestamp(b.created_at), view.tz)}</td>
                  <td>{b.candidate}</td>
                  <td>
                    {b.status}
                    {b.status === 'running' ? ` ${Math.round(b.progress * 100)}%` : ''}
                  </td>
                  <td className="ellipsis muted">{b.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </section>
    </div>
  )
}

type Mode = 'what_if' | 'replay' | 'ab'

function toMode(value: string): Mode {
  return value === 'ab' || value === 'replay' ? value : 'what_if'
}

/** Replay only: where and how the candidate is called. */
function ReplayFields() {
  return (
    <>
      <Field label="API">
        <select name="api" defaultValue="" data-testid="replay-api">
          <option value="">from the provider</option>
          <option value="openai">OpenAI-compatible</option>
          <option value="anthropic">Anthropic Messages</option>
        </select>
      </Field>
      <Field label="Base URL">
        <input
          name="baseUrl"
          type="url"
          placeholder="https://api.openai.com/v1"
          size={28}
          title="The candidate endpoint; Anthropic defaults to api.anthropic.com. The key is the server's OPENAI_API_KEY / ANTHROPIC_API_KEY."
          data-testid="replay-base-url"
        />
      </Field>
      <Field label="Budget ($)">
        <input name="budget" inputMode="decimal" placeholder="e.g. 5" size={5} data-testid="replay-budget" />
      </Field>
      <Field label="Concurrency">
        <input name="concurrency" inputMode="numeric" placeholder="8" size={4} />
      </Field>
      <label className="field checkbox">
        <input type="checkbox" name="stream" /> <span className="field-label">stream (measure TTFT)</span>
      </label>
    </>
  )
}

/** Quality objectives: replay (paired: both) and live A/B (stored scores: minimum only). */
function QualityObjectiveFields({ mode }: { mode: Mode }) {
  return (
    <>
      <Field label="Min quality">
        <input
          name="minQuality"
          inputMode="decimal"
          placeholder="e.g. 0.8"
          size={5}
          title="The candidate's mean score (pass rate for pass/fail) must be at least this: its 95% interval's lower end"
          data-testid="objective-min-quality"
        />
      </Field>
      {mode === 'replay' ? (
        <Field label="Max quality regression">
          <input
            name="maxQualityRegression"
            inputMode="decimal"
            placeholder="e.g. 0.02"
            size={5}
            title="Non-inferiority: the paired delta's whole 95% interval must be above −this"
            data-testid="objective-max-regression"
          />
        </Field>
      ) : null}
      <Field label="Quality score">
        <input
          name="qualityScore"
          placeholder={mode === 'replay' ? 'first evaluator' : 'score name'}
          size={12}
          title="The score (evaluator name) the quality objectives use"
          data-testid="objective-quality-score"
        />
      </Field>
    </>
  )
}

/** Replay only: which evaluators score both arms. */
function EvaluationFields({ judgeOn, onJudge }: { judgeOn: boolean; onJudge: (on: boolean) => void }) {
  return (
    <fieldset className="filters" data-testid="backtest-evaluation" style={{ width: '100%' }}>
      <legend className="field-label">Evaluate both arms with</legend>
      {SIMPLE_EVALUATORS.map((e) => (
        <label key={e.id} className="field checkbox" title={e.hint}>
          <input type="checkbox" name="evaluator" value={e.id} data-testid={`evaluator-${e.id}`} /> {e.label}
        </label>
      ))}
      <Field label="Contains (comma-separated)">
        <input name="containsValues" size={14} placeholder="none" />
      </Field>
      <Field label="Length (chars)">
        <span>
          <input name="lengthMin" inputMode="numeric" size={4} placeholder="min" />–
          <input name="lengthMax" inputMode="numeric" size={5} placeholder="max" />
        </span>
      </Field>
      <label className="field checkbox" title="The project's online evaluation rules for the cohort's routes">
        <input type="checkbox" name="evalRules" data-testid="evaluator-rules" /> the route’s online rules
      </label>
      <label className="field checkbox">
        <input
          type="checkbox"
          checked={judgeOn}
          onChange={(e) => onJudge(e.target.checked)}
          data-testid="evaluator-judge"
        />{' '}
        LLM judge
      </label>
      {judgeOn ? (
        <>
          <Field label="Rubric">
            <select name="judgeRubric" defaultValue="correctness">
              {JUDGE_RUBRICS.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Judge provider">
            <select name="judgeProvider" defaultValue="openai">
              <option value="openai">openai</option>
              <option value="anthropic">anthropic</option>
            </select>
          </Field>
          <Field label="Judge model">
            <input name="judgeModel" placeholder="e.g. gpt-4o-mini" size={12} data-testid="judge-model" />
          </Field>
          <Field label="Key env var">
            <input name="judgeKeyEnv" placeholder="OPENAI_API_KEY" size={14} />
          </Field>
          <Field label="Judge base URL">
            <input name="judgeBaseUrl" type="url" placeholder="default" size={18} />
          </Field>
        </>
      ) : null}
    </fieldset>
  )
}

const FINISHED: ReadonlySet<string> = new Set(['done', 'failed', 'stopped_budget'])

function BacktestRun({ projectId, id }: { projectId: string; id: string }) {
  const trpc = useTRPC()
  const status = useQuery({
    ...trpc.backtests.get.queryOptions({ projectId, id }),
    refetchInterval: (q) => (q.state.data && FINISHED.has(q.state.data.status) ? false : 500),
  })
  // A replay stopped at its budget cap still has a (partial, labelled) report.
  const done = status.data?.status === 'done' || status.data?.status === 'stopped_budget'
  const report = useQuery({ ...trpc.backtests.report.queryOptions({ projectId, id }), enabled: done })
  if (status.isPending) return <Loading label="Loading the back-test…" />
  if (status.isError) return <ErrorState error={status.error} onRetry={() => void status.refetch()} />
  if (status.data.status === 'failed') {
    return (
      <section className="panel">
        <div className="state state-error" role="alert">
          <strong>The back-test failed</strong>
          <span className="state-detail">{status.data.message}</span>
        </div>
      </section>
    )
  }
  if (!done) {
    return (
      <section className="panel">
        <Loading label={`${Math.round(status.data.progress * 100)}% — ${status.data.message}`} />
        <progress max={1} value={status.data.progress} style={{ width: '100%' }} />
      </section>
    )
  }
  if (report.isPending) return <Loading label="Loading the report…" />
  if (report.isError) return <ErrorState error={report.error} onRetry={() => void report.refetch()} />
  if (!report.data) return <Empty title="No report">The run finished without a report.</Empty>
  return <ReportView report={report.data} />
}

const VERDICT_CLASS = { pass: 'badge badge-ok', fail: 'badge badge-error', inconclusive: 'badge' } as const

function ReportView({ report }: { report: BacktestReport }) {
  const c = report.candidate
  const arms = abArms(report)
  return (
    <section className="panel" data-testid="backtest-report">
      <header className="panel-head">
        <h3>
          {report.ab ? (
            `Live A/B: ${report.ab.attribute} ${report.ab.baseline.value} → ${report.ab.candidate.value}`
          ) : (
            <>
              {report.mode === 'replay' ? 'Replay: ' : ''}
              {report.baseline.models.map((m) => m.model).join(', ') || 'recorded calls'} → {c.provider}/
              {c.model}
              {c.caching === 'on' ? ' with caching' : ''}
            </>
          )}
        </h3>
        <span className={VERDICT_CLASS[report.verdict.result]} data-testid="backtest-verdict">
          {report.verdict.result}
        </span>
      </header>
      <div className="pad stack">
        <p>{report.verdict.summary}</p>
        {arms && report.ab ? (
          <div className="small" data-testid="backtest-ab-arms">
            <table className="table">
              <thead>
                <tr>
                  <th>Arm</th>
                  <th className="num">Traces</th>
                  <th className="num">Calls</th>
                  <th>First → last call</th>
                  <th className="num">Recorded cost</th>
                  <th className="num">Errors</th>
                  <th>Models</th>
                </tr>
              </thead>
              <tbody>
                {arms.map((a) => (
                  <tr key={a.arm}>
                    <td>
                      {a.arm} <span className="mono">{a.value}</span>
                    </td>
                    <td className="num mono">{a.traces}</td>
                    <td className="num mono">{a.calls}</td>
                    <td className="mono nowrap">{a.range}</td>
                    <td className="num mono">${a.cost}</td>
                    <td className="num mono">{a.errors}</td>
                    <td>{a.models}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <p className="muted">
              Unpaired design: the arms are different requests (Welch-type intervals, unpaired bootstrap,
              Newcombe; calls clustered by trace). {report.ab.time.note} {report.ab.traffic_mix.note}{' '}
              {report.ab.win_tie_loss_note}
            </p>
          </div>
        ) : null}
        <p className="muted small" hidden={Boolean(report.ab)}>
          {report.cohort.traces} traces, {report.cohort.calls} calls. Cohort cost: baseline $
          {report.totals.baseline_cost_usd}, candidate ${report.totals.candidate_cost_usd} (savings $
          {report.totals.savings_usd}).
          {report.caching.enabled && report.caching.hit_rate !== null
            ? report.mode === 'replay'
              ? ` Measured prompt caching: ${(report.caching.hit_rate * 100).toFixed(1)}% of calls read from the cache (${report.caching.read_tokens} tokens read, ${report.caching.write_tokens} written).`
              : ` Simulated cache hit rate ${(report.caching.hit_rate * 100).toFixed(1)}%, caching saves $${report.caching.savings_usd}.`
            : ''}
        </p>
        {report.replay ? (
          <p className="small" data-testid="backtest-replay">
            Replay{' '}
            {report.replay.status === 'stopped_budget' ? 'stopped at the budget cap' : report.replay.status}:{' '}
            {report.replay.paired_calls} of {report.replay.total} calls answered and paired
            {report.replay.failed > 0 ? `, ${report.replay.failed} failed` : ''}
            {report.replay.resumed > 0 ? `, ${report.replay.resumed} resumed` : ''}; spent $
            {report.replay.spent_usd.toFixed(4)}
            {report.replay.budget_usd !== null ? ` of $${report.replay.budget_usd}` : ''}.
          </p>
        ) : null}
        <table className="table" data-testid="backtest-metrics">
          <thead>
            <tr>
              <th>Metric</th>
              <th className="num">Baseline</th>
              <th className="num">Candidate</th>
              <th className="num">Δ</th>
              <th className="num">95% CI of Δ</th>
              <th className="num">Ratio (95% CI)</th>
              <th className="num">p (Holm)</th>
              <th className="num">n / traces</th>
              <th className="num">MDE</th>
            </tr>
          </thead>
          <tbody>
            {report.metrics.map((m) => (
              <tr key={`${m.name}:${m.score ?? ''}`} title={m.note ?? m.method}>
                <td>
                  {m.label}
                  {m.projection ? <span className="muted small"> projection</span> : null}
                  {m.candidate === null && m.note ? <div className="muted small">{m.note}</div> : null}
                </td>
                <td className="num mono">{formatMetric(m.baseline, m.unit)}</td>
                <td className="num mono">{formatMetric(m.candidate, m.unit)}</td>
                <td className="num mono">{formatMetric(m.delta, m.unit)}</td>
                <td className="num mono">{formatInterval(m.ci_low, m.ci_high, m.unit)}</td>
                <td className="num mono">{formatRatio(m)}</td>
                <td className="num mono">{formatP(m.p_value_adjusted)}</td>
                <td className="num mono">
                  {m.n} / {m.clusters}
                </td>
                <td className="num mono">{formatMetric(m.mde, m.unit)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <QualityTable report={report} />
        {report.verdict.checks.length > 0 ? (
          <ul className="small" data-testid="backtest-checks">
            {report.verdict.checks.map((ch) => (
              <li key={`${ch.objective}:${ch.score ?? ''}`}>
                <strong>{checkLabel(ch)}</strong>: {ch.result} — {ch.reason}
              </li>
            ))}
          </ul>
        ) : null}
        <TriangleTable report={report} />
        <TriangleChart report={report} />
        {report.messages.length > 0 ? (
          <ul className="small muted">
            {report.messages.map((m) => (
              <li key={m}>{m}</li>
            ))}
          </ul>
        ) : null}
        <p className="muted small">
          {report.latency.projection ? 'Latency is a projection' : 'Latency is measured'}:{' '}
          {report.latency.method} {report.caching.enabled ? report.caching.token_counts : ''}{' '}
          {report.correction.statement}
        </p>
      </div>
    </section>
  )
}

/** Quality per evaluator: both arms, the paired delta with its interval, win/tie/loss and the paired test. */
function QualityTable({ report }: { report: BacktestReport }) {
  const rows = qualityView(report)
  if (rows.length === 0) return null
  const q = report.quality
  return (
    <div className="small" data-testid="backtest-quality">
      <h4>Quality</h4>
      <table className="table">
        <thead>
          <tr>
            <th>Evaluator</th>
            <th className="num">Baseline</th>
            <th className="num">Candidate</th>
            <th className="num">Δ</th>
            <th className="num">95% CI of Δ</th>
            <th className="num">Win / tie / loss</th>
            <th>Paired test</th>
            <th className="num">Calls scored</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.score} title={r.evaluator}>
              <td>
                {r.score} <span className="muted">{r.evaluator}</span>
                {r.note ? <div className="muted">{r.note}</div> : null}
              </td>
              <td className="num mono">{r.baseline}</td>
              <td className="num mono">{r.candidate}</td>
              <td className="num mono">{r.delta}</td>
              <td className="num mono">{r.interval}</td>
              <td className="num mono">{r.winTieLoss}</td>
              <td className="mono">{r.test}</td>
              <td className="num mono">{r.paired}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {q ? (
        <p className="muted">
          Both arms scored by the same evaluators against the{' '}
          {q.reference === 'recorded' ? 'recorded answer' : 'no reference'}; primary score {q.primary ?? '—'};{' '}
          {q.scored} scores written
          {q.resumed > 0 ? `, ${q.resumed} reused` : ''}
          {q.eval_cost_usd > 0 ? `, judge cost $${q.eval_cost_usd.toFixed(4)}` : ''}. {q.storage}
        </p>
      ) : null}
    </div>
  )
}

/** The intelligence–cost–latency triangle as a table: baseline vs candidate (candidate with its intervals). */
function TriangleTable({ report }: { report: BacktestReport }) {
  const t = triangleRows(report)
  if (!t) return null
  return (
    <table className="table small" data-testid="backtest-triangle-table">
      <thead>
        <tr>
          <th>Intelligence–cost–latency</th>
          <th className="num">Quality{t.score ? ` (${t.score})` : ''}</th>
          <th className="num">Cost per call</th>
          <th className="num">Latency p50</th>
          <th className="num">Latency p95{report.triangle?.latency_projection ? ' (projected)' : ''}</th>
        </tr>
      </thead>
      <tbody>
        {t.rows.map((r) => (
          <tr key={r.arm}>
            <td>{r.arm}</td>
            <td className="num mono">{r.quality}</td>
            <td className="num mono">{r.cost}</td>
            <td className="num mono">{r.latencyP50}</td>
            <td className="num mono">{r.latencyP95}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

const ARM_COLORS = { baseline: '#868e96', candidate: '#4f7cff' } as const

/** Intelligence–cost–latency: both arms on cost × latency p95, quality as a label. */
function TriangleChart({ report }: { report: BacktestReport }) {
  const points = trianglePoints(report)
  if (!points) {
    return <p className="muted small">The cost–latency chart needs both a cost and a latency p95 estimate.</p>
  }
  const quality = points.find((p) => p.arm === 'candidate')?.quality
  return (
    <figure style={{ margin: 0 }} data-testid="backtest-triangle">
      <figcaption className="small">
        Intelligence–cost–latency: cost per call × latency p95, candidate with 95% intervals. Intelligence:{' '}
        {quality === null || quality === undefined
          ? report.mode === 'ab'
            ? 'no quality scores on either arm'
            : report.mode === 'replay'
              ? 'not measured (replay without evaluators)'
              : 'not measured by a what-if (replay with evaluators)'
          : `${report.triangle?.quality_score ?? 'quality'} ${formatMetric(quality, report.triangle?.quality_unit ?? 'score')}`}
        .
      </figcaption>
      <ResponsiveContainer width="100%" height={260}>
        <ScatterChart margin={{ top: 16, right: 24, bottom: 24, left: 24 }}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis
            type="number"
            dataKey="cost"
            name="cost per call"
            tickFormatter={(v: number) => `$${v.toPrecision(2)}`}
            domain={['auto', 'auto']}
          />
          <YAxis
            type="number"
            dataKey="latency"
            name="latency p95"
            width={80}
            tickFormatter={(v: number) => `${Math.round(v)} ms`}
            domain={['auto', 'auto']}
          />
          <Legend />
          <Tooltip cursor={{ strokeDasharray: '3 3' }} />
          {points.map((p) => (
            <Scatter key={p.arm} name={p.arm} data={[p]} fill={ARM_COLORS[p.arm]}>
              <ErrorBar dataKey="costError" direction="x" stroke={ARM_COLORS[p.arm]} />
              <ErrorBar dataKey="latencyError" direction="y" stroke={ARM_COLORS[p.arm]} />
            </Scatter>
          ))}
        </ScatterChart>
      </ResponsiveContainer>
    </figure>
  )
}
