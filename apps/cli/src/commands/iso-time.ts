// Kept apart from the commands so that `main.ts` can validate options without loading storage.

/** ISO 8601 date or date-time (`2026-03-01`, `2026-03-01T12:00:00Z`, with an offset); null otherwise. */
export function parseIsoTime(value: string): Date | null {
  if (
    !/^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i.test(value)
  ) {
    return null
  }
  // A date or a time without an offset is taken as UTC, like every time Hindsight stores.
  const hasZone = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(value) && value.length > 10
  const text = value.length === 10 ? `${value}T00:00:00Z` : hasZone ? value : `${value}Z`
  const date = new Date(text.replace(' ', 'T'))
  return Number.isNaN(date.getTime()) ? null : date
}
