/**
 * Markdown and HTML renderings of a live A/B report (the JSON is the same `BacktestReport`, with
 * `mode: 'ab'` and the `ab` section). CSV is the shared per-metric table. `renderAnyReport`
 * renders any back-test report: A/B here, the other modes with `renderReport`.
 */
import type { AbArmSummary, AbSummary } from './ab-spec'
import {
  type BacktestReport,
  fmt,
  html,
  htmlNotes,
  interval,
  markdownNotes,
  mdEscape,
  pValue,
  type ReportFormat,
  renderReport,
} from './report'

export function abTitle(ab: AbSummary): string {
  return `Live A/B: ${ab.attribute} ${ab.baseline.value} → ${ab.candidate.value}`
}

function armLine(which: string, a: AbArmSummary): string {
  const models = a.models.map((m) => `${m.provider}/${m.model} (${m.calls})`).join(', ') || '—'
  return `${which} ${a.value}: ${a.traces} traces, ${a.calls} calls, ${a.first_call ?? '—'} → ${a.last_call ?? '—'}, recorded cost $${a.cost_usd} (${a.priced_calls} priced), ${a.error_calls} errors; models ${models}`
}

function rows(report: BacktestReport): string[][] {
  return report.metrics.map((m) => [
    m.label,
    fmt(m.baseline),
    fmt(m.candidate),
    fmt(m.delta),
    interval(m.ci_low, m.ci_high),
    m.ratio === null ? '—' : `${fmt(m.ratio)} ${interval(m.ratio_ci_low, m.ratio_ci_high)}`,
    `${pValue(m.p_value)} (${pValue(m.p_value_adjusted)})`,
    m.test ? `${m.test.name} p ${pValue(m.test.p_value)}` : '—',
    String(m.n),
    String(m.clusters),
    fmt(m.mde),
  ])
}

const HEADER = [
  'metric',
  'baseline',
  'candidate',
  'delta',
  '95% CI',
  'ratio [95% CI]',
  'p (Holm)',
  'robustness',
  'n',
  'clusters',
  'MDE',
]

/** A live A/B report as Markdown. */
export function abReportToMarkdown(report: BacktestReport): string {
  const ab = report.ab
  if (!ab) throw new Error('not a live A/B report')
  const out: string[] = []
  out.push(`# ${abTitle(ab)}`)
  out.push('')
  out.push(`**Verdict: ${report.verdict.result.toUpperCase()}** — ${mdEscape(report.verdict.summary)}`)
  out.push('')
  const f = report.cohort.filter
  out.push(
    `Cohort \`${report.cohort.id}\`: ${report.cohort.traces} traces, ${f.from} → ${f.to}. Design: unpaired (two independent samples of production traffic), calls clustered by trace.`,
  )
  out.push('')
  out.push(`- ${mdEscape(armLine('Baseline', ab.baseline))}`)
  out.push(`- ${mdEscape(armLine('Candidate', ab.candidate))}`)
  out.push(
    `- Left out: ${ab.excluded_traces.both} traces with both values, ${ab.excluded_traces.neither} cohort traces with neither.`,
  )
  out.push(`- Time: ${mdEscape(ab.time.note)}`)
  out.push(`- ${mdEscape(ab.traffic_mix.note)}`)
  out.push('')
  out.push(`| ${HEADER.join(' | ')} |`)
  out.push(`|${HEADER.map(() => '---').join('|')}|`)
  for (const r of rows(report)) out.push(`| ${r.map(mdEscape).join(' | ')} |`)
  out.push('')
  out.push(`P-values adjusted: ${report.correction.statement}`)
  out.push('')
  out.push(ab.win_tie_loss_note)
  if (report.verdict.checks.length > 0) {
    out.push('')
    out.push('| objective | threshold | value | 95% CI | result | reason |')
    out.push('|---|---|---|---|---|---|')
    for (const ch of report.verdict.checks) {
      out.push(
        `| ${ch.objective} | ${fmt(ch.threshold)} | ${fmt(ch.value)} | ${interval(ch.ci_low, ch.ci_high)} | ${ch.result} | ${mdEscape(ch.reason)} |`,
      )
    }
  }
  out.push(...markdownNotes(report))
  return `${out.join('\n')}\n`
}

/** A live A/B report as a standalone HTML page (escaped; no scripts). */
export function abReportToHtml(report: BacktestReport): string {
  const ab = report.ab
  if (!ab) throw new Error('not a live A/B report')
  const table = `<table><thead><tr>${HEADER.map((h) => `<th>${html(h)}</th>`).join('')}</tr></thead><tbody>${rows(
    report,
  )
    .map((r) => `<tr>${r.map((c) => `<td>${html(c)}</td>`).join('')}</tr>`)
    .join('\n')}</tbody></table>`
  const checks = report.verdict.checks
    .map(
      (ch) =>
        `<tr><td>${html(ch.objective)}</td><td>${fmt(ch.threshold)}</td><td>${fmt(ch.value)}</td><td>${interval(ch.ci_low, ch.ci_high)}</td><td>${ch.result}</td><td>${html(ch.reason)}</td></tr>`,
    )
    .join('\n')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${html(abTitle(ab))}</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem;max-width:76rem}table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:right}td:first-child,th:first-child{text-align:left}.verdict{font-size:1.2rem}</style>
</head><body>
<h1>${html(abTitle(ab))}</h1>
<p class="verdict"><strong>Verdict: ${report.verdict.result.toUpperCase()}</strong> — ${html(report.verdict.summary)}</p>
<p>Cohort <code>${html(report.cohort.id)}</code>: ${report.cohort.traces} traces, ${html(report.cohort.filter.from)} → ${html(report.cohort.filter.to)}. Design: unpaired, calls clustered by trace.</p>
<ul><li>${html(armLine('Baseline', ab.baseline))}</li><li>${html(armLine('Candidate', ab.candidate))}</li>
<li>Left out: ${ab.excluded_traces.both} traces with both values, ${ab.excluded_traces.neither} with neither.</li>
<li>Time: ${html(ab.time.note)}</li><li>${html(ab.traffic_mix.note)}</li></ul>
${table}
<p>${html(report.correction.statement)}</p>
<p>${html(ab.win_tie_loss_note)}</p>
${checks ? `<table><thead><tr><th>objective</th><th>threshold</th><th>value</th><th>95% CI</th><th>result</th><th>reason</th></tr></thead><tbody>${checks}</tbody></table>` : ''}
${htmlNotes(report)}
</body></html>
`
}

/** Render any back-test report: the same function as `renderReport` (which renders every mode), kept. */
export function renderAnyReport(report: BacktestReport, format: ReportFormat): string {
  return renderReport(report, format)
}
