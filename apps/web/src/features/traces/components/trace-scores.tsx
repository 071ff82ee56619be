'use client'
/** Scores of a trace or span as compact chips: name and value; failed evaluations say why on hover. */
import type { RouterOutputs } from '../../../lib/trpc'

export type Score = RouterOutputs['scores']['forTrace'][number]

/** The value as a person reads it: numbers to 3 decimals, ✓/✗ for booleans, the label for categories. */
export function scoreText(score: Pick<Score, 'status' | 'data_type' | 'value' | 'string_value'>): string {
  if (score.status === 'failed') return 'failed'
  if (score.data_type === 'boolean') return score.value === 1 ? '✓ true' : '✗ false'
  if (score.data_type === 'categorical') return score.string_value
  return score.value === null ? '—' : String(Math.round(score.value * 1000) / 1000)
}

function title(score: Score): string {
  const by = score.evaluator || score.author || score.source
  return [`${score.name} (${score.source}${by !== score.source ? `: ${by}` : ''})`, score.comment]
    .filter(Boolean)
    .join('\n')
}

export function ScoreChips({ scores, testId }: { scores: Score[]; testId?: string }) {
  if (scores.length === 0) return <span className="muted">—</span>
  return (
    <span className="chips" data-testid={testId}>
      {scores.map((s) => (
        <span
          key={s.id}
          className={`badge${s.status === 'failed' ? ' badge-error' : ''}`}
          data-testid="score-chip"
          data-score-name={s.name}
          title={title(s)}
        >
          {s.name}: <strong>{scoreText(s)}</strong>
        </span>
      ))}
    </span>
  )
}
