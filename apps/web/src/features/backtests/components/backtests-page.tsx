'use client'
/**
 * Back-tests: "what if we moved these calls to model B, with caching?" on the page's time range,
 * or a live A/B of two releases (any attribute values) of the recorded production traffic.
 * The form starts a what-if or an A/B; the run is polled; the report JSON is rendered as a metric
 * table with 95% intervals, the verdict against the objectives, and the intelligence–cost–latency
 * chart (an A/B report also describes both arms). `?backtest=<id>` in the URL selects a run.
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
import { ProjectGate } from '../../../components/project-gate'
import { Empty, ErrorState, Loading } from '../../../components/states'
import { formatDateTime, parseTimestamp } from '../../../lib/format'
import { useTRPC } from '../../../lib/trpc'
import { useView } from '../../../lib/use-view'
import {
  abArms,
  formatInterval,
  formatMetric,
  formatP,
  formatRatio,
  trianglePoints,
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
  const [mode, setMode] = useState<'what_if' | 'ab'>('what_if')
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
        },
      })
    }
    const candidateModel = String(data.get('candidateModel') ?? '').trim()
    if (!candidateModel) return setError('Name the candidate model.')
    start.mutate({
      projectId,
      ...rangeInput,
      model: baseline ? [baseline] : undefined,
      route: route ? [route] : undefined,
      sampleSize: numberOrUndefined(data.get('sample')),
      candidate: {
        provider: String(data.get('provider') ?? 'openai'),
        model: candidateModel,
        caching: data.get('caching') === 'on' ? 'on' : 'off',
      },
      objectives: {
        cost_per_call_max_ratio: numberOrUndefined(data.get('maxCostRatio')),
        latency_p95_max_ms: numberOrUndefined(data.get('maxP95')),
      },
    })
  }

  return (
    <div className="stack">
      <section className="panel">
        <header className="panel-head">
          <h3>{mode === 'ab' ? 'Live A/B' : 'What if…'}</h3>
          {mode === 'ab' ? (
            <span className="muted small">
              Compares two releases (or any attribute values) on the production traffic recorded in the
              selected time range — two independent samples, no replay. Also available as{' '}
              <code>hindsight backtest ab</code> and <code>POST /api/public/v1/backtests</code> (mode{' '}
              <code>ab</code>).
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
          <label className="field">
            <span className="field-label">Mode</span>
            <select
              name="mode"
              value={mode}
              onChange={(e) => setMode(e.target.value === 'ab' ? 'ab' : 'what_if')}
              data-testid="backtest-mode"
            >
              <option value="what_if">What-if (re-price, no calls)</option>
              <option value="ab">Live A/B (two releases)</option>
            </select>
          </label>
          <label className="field">
            <span className="field-label">Calls of model</span>
            <select name="baseline" defaultValue="">
              <option value="">any model</option>
              {models.data?.map((m) => (
                <option key={m} value={m}>
                  {m}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span className="field-label">Route</span>
            <input name="route" placeholder="any route" />
          </label>
          {mode === 'ab' ? (
            <>
              <label className="field">
                <span className="field-label">Arms by</span>
                <input
                  name="abAttribute"
                  defaultValue="release"
                  size={10}
                  title="release, model, provider, route, environment, service, tag, metadata.<key> or any attribute key"
                  data-testid="ab-attribute"
                />
              </label>
              <label className="field">
                <span className="field-label">Baseline arm</span>
                <input
                  name="abBaseline"
                  list="ab-values"
                  placeholder="e.g. v1.4.0"
                  data-testid="ab-baseline"
                  required
                />
              </label>
              <label className="field">
                <span className="field-label">Candidate arm</span>
                <input
                  name="abCandidate"
                  list="ab-values"
                  placeholder="e.g. v1.5.0"
                  data-testid="ab-candidate"
                  required
                />
              </label>
              <datalist id="ab-values">
                {releases.data?.map((r) => (
                  <option key={r} value={r} />
                ))}
              </datalist>
            </>
          ) : (
            <>
              <label className="field">
                <span className="field-label">Candidate provider</span>
                <select name="provider" defaultValue="openai">
                  {PROVIDERS.map((p) => (
                    <option key={p} value={p}>
                      {p}
                    </option>
                  ))}
                </select>
              </label>
              <label className="field">
                <span className="field-label">Candidate model</span>
                <input
                  name="candidateModel"
                  placeholder="e.g. gpt-4.1-mini"
                  data-testid="candidate-model"
                  required
                />
              </label>
              <label className="field">
                <span className="field-label">Prompt caching</span>
                <select name="caching" defaultValue="off">
                  <option value="off">off</option>
                  <option value="on">on (simulated)</option>
                </select>
              </label>
            </>
          )}
          <label className="field">
            <span className="field-label">Max cost ratio</span>
            <input name="maxCostRatio" inputMode="decimal" placeholder="e.g. 0.8" size={6} />
          </label>
          <label className="field">
            <span className="field-label">Max p95 (ms)</span>
            <input name="maxP95" inputMode="numeric" placeholder="e.g. 4000" size={7} />
          </label>
          <label className="field">
            <span className="field-label">Sample traces</span>
            <input name="sample" inputMode="numeric" placeholder="all" size={6} />
          </label>
          <button type="submit" className="btn primary" disabled={start.isPending} data-testid="run-backtest">
            {start.isPending ? 'Starting…' : mode === 'ab' ? 'Run A/B' : 'Run what-if'}
          </button>
          {error ? <span className="error-text">{error}</span> : null}
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
            ? ` Simulated cache hit rate ${(report.caching.hit_rate * 100).toFixed(1)}%, caching saves $${report.caching.savings_usd}.`
            : ''}
        </p>
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
        {report.verdict.checks.length > 0 ? (
          <ul className="small">
            {report.verdict.checks.map((ch) => (
              <li key={ch.objective}>
                <strong>{ch.objective}</strong> {ch.objective === 'min_quality' ? '≥' : '≤'} {ch.threshold}:{' '}
                {ch.result} — {ch.reason}
              </li>
            ))}
          </ul>
        ) : null}
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
            : 'not measured by a what-if (replay with evaluators)'
          : quality}
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
