/** Sends spans to a real collector over OTLP/HTTP JSON, as an instrumented app would. */
import { randomBytes } from 'node:crypto'

export const newTraceId = (): string => randomBytes(16).toString('hex')
export const newSpanId = (): string => randomBytes(8).toString('hex')

export interface SimpleSpan {
  traceId: string
  spanId?: string
  parentSpanId?: string
  name: string
  startMs: number
  durationMs: number
  attributes?: Record<string, string | number>
  error?: boolean
}

export async function sendSpans(
  otlpUrl: string,
  apiKey: string,
  spans: SimpleSpan[],
  service = 'app',
): Promise<void> {
  const body = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [
          {
            scope: { name: '@hindsight/sdk' },
            spans: spans.map((s) => ({
              traceId: s.traceId,
              spanId: s.spanId ?? newSpanId(),
              parentSpanId: s.parentSpanId ?? '',
              name: s.name,
              kind: 3,
              startTimeUnixNano: `${BigInt(Math.round(s.startMs)) * 1_000_000n}`,
              endTimeUnixNano: `${BigInt(Math.round(s.startMs + s.durationMs)) * 1_000_000n}`,
              attributes: Object.entries(s.attributes ?? {}).map(([key, v]) => ({
                key,
                value:
                  typeof v === 'number'
                    ? Number.isInteger(v)
                      ? { intValue: String(v) }
                      : { doubleValue: v }
                    : { stringValue: v },
              })),
              status: { code: s.error ? 2 : 1 },
            })),
          },
        ],
      },
    ],
  }
  const res = await fetch(`${otlpUrl}/v1/traces`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  if (!res.ok) throw new Error(`collector answered ${res.status}: ${await res.text()}`)
}
