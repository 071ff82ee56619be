/**
 * The "use case" filter that evaluation rules, annotation queues and objectives are defined on:
 * route, span name and (optionally) model, each a comma-separated list; empty means any.
 */

export interface UseCaseFilter {
  route?: string[]
  name?: string[]
  model?: string[]
}

/** A comma-separated list typed into a field, trimmed, empties dropped. */
export const splitList = (text: string) =>
  text
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean)

/** The filter typed into {@link UseCaseFilterFields}, without empty keys. */
export function readUseCaseFilter(data: FormData): UseCaseFilter {
  const filter: UseCaseFilter = {}
  for (const [key, field] of [
    ['route', 'route'],
    ['name', 'spanName'],
    ['model', 'model'],
  ] as const) {
    const values = splitList(String(data.get(field) ?? ''))
    if (values.length) filter[key] = values
  }
  return filter
}

export function UseCaseFilterFields({
  model = true,
  routeTestId,
  routePlaceholder = 'any',
}: {
  /** Show the model field. @default true */
  model?: boolean
  routeTestId?: string
  routePlaceholder?: string
}) {
  return (
    <>
      <label className="field">
        <span className="field-label">Route</span>
        <input name="route" data-testid={routeTestId} placeholder={routePlaceholder} />
      </label>
      <label className="field">
        <span className="field-label">Span name</span>
        <input name="spanName" placeholder="any" />
      </label>
      {model ? (
        <label className="field">
          <span className="field-label">Model</span>
          <input name="model" placeholder="any" />
        </label>
      ) : null}
    </>
  )
}
