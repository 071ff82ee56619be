/**
 * A small "support bot" that uses Hindsight the way a user would: the real SDK (`init`,
 * `wrapOpenAI`, `getTracer`) around the real `openai` client, pointed at the simulated provider.
 * Three routes (a streamed support answer with a retrieval tool step, a summary, a
 * classification) across three models, in two releases.
 */

import { GEN_AI, HINDSIGHT } from '@hindsight/collector/conventions'
import { getStats, getTracer, init, shutdown, wrapOpenAI } from '@hindsight/sdk'
import { type Span, SpanStatusCode } from '@opentelemetry/api'
import OpenAI from 'openai'
import { Rng } from './rng'
import { startSimulatedProvider } from './simulated-provider'

export interface SampleAppOptions {
  /** Collector base URL, e.g. `http://127.0.0.1:4318`. */
  endpoint: string
  /** Project key the spans are sent with. */
  apiKey: string
  /** Model calls to make, split over the two releases. @default 40 */
  calls?: number
  /** @default 11 */
  seed?: number
  /** Requests in flight at once. @default 6 */
  concurrency?: number
  /** Multiplies the simulated provider's delays; 0 answers at once (tests). @default 1 */
  timeScale?: number
  /** Share of simulated provider errors. @default 0.02 */
  errorRate?: number
  /** @default 'support-bot' */
  serviceName?: string
  log?: (line: string) => void
}

export interface SampleAppResult {
  calls: number
  /** Calls that ended in a provider error (recorded as error spans). */
  errors: number
  byModel: Record<string, number>
  /** Spans the collector accepted from the SDK. */
  exportedSpans: number
}

type Route = 'support-answer' | 'summarize' | 'classify'

const POLICY_LINES = [
  'You are the support assistant of Acme Store. Answer in a friendly, concise way.',
  'Refunds: purchases can be refunded within 30 days; duplicate charges are refunded within 5 business days.',
  'Shipping: standard delivery takes 3 to 7 business days; express delivery takes 1 to 2 business days.',
  'Addresses can be changed until the order is handed to the carrier; after that, contact the carrier.',
  'Never ask for full card numbers or passwords. Escalate legal or safety questions to a human agent.',
  'When unsure, say so and offer to open a ticket. Quote order numbers exactly as the customer wrote them.',
]
// Long enough (> 1024 tokens) for OpenAI-style automatic prompt caching to apply.
const SYSTEM_PROMPT = Array.from({ length: 12 }, (_, i) => `${i + 1}. ${POLICY_LINES.join(' ')}`).join('\n')

const QUESTIONS = [
  'I was charged twice for order #48213, can you help?',
  'My package has not arrived after ten days, what can I do?',
  'Can I still change the delivery address for order #50127?',
  'How do I download my invoices as PDF?',
  'The app logs me out every few minutes on my phone.',
]

const TICKETS = [
  'Customer reports the checkout page freezes when applying a discount code on mobile Safari. Tried twice. ',
  'Customer asks for a refund of a duplicate charge; the bank statement shows two identical amounts. ',
  'Customer cannot find the invoice download button in the account page after the redesign. ',
]

const MODELS: Record<(typeof RELEASES)[number], Record<Route, string>> = {
  'v1.3.0': { 'support-answer': 'gpt-4o', summarize: 'gpt-4o-mini', classify: 'gpt-4o-mini' },
  'v1.4.0': { 'support-answer': 'gpt-4.1-mini', summarize: 'gpt-4.1-mini', classify: 'gpt-4o-mini' },
}
const RELEASES = ['v1.3.0', 'v1.4.0'] as const

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function inSpan<T>(
  name: string,
  attributes: Record<string, string>,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  return getTracer().startActiveSpan(name, { attributes }, async (span) => {
    try {
      const result = await work(span)
      span.setStatus({ code: SpanStatusCode.OK })
      return result
    } catch (error) {
      span.recordException(error as Error)
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message })
      throw error
    } finally {
      span.end()
    }
  })
}

/** Run the sample app against a freshly started simulated provider, then flush the SDK. */
export async function runSampleApp(options: SampleAppOptions): Promise<SampleAppResult> {
  const total = options.calls ?? 40
  const rng = new Rng(options.seed ?? 11)
  const timeScale = options.timeScale ?? 1
  const provider = await startSimulatedProvider({
    seed: (options.seed ?? 11) + 1,
    errorRate: options.errorRate ?? 0.02,
    timeScale,
  })
  const result: SampleAppResult = { calls: 0, errors: 0, byModel: {}, exportedSpans: 0 }
  try {
    let exported = 0
    for (const [index, release] of RELEASES.entries()) {
      const share = index === 0 ? Math.ceil(total / 2) : Math.floor(total / 2)
      if (share === 0) continue
      init({
        endpoint: options.endpoint,
        apiKey: options.apiKey,
        serviceName: options.serviceName ?? 'support-bot',
        environment: 'demo',
        release,
        captureContent: true,
      })
      const openai = wrapOpenAI(
        new OpenAI({ apiKey: 'sk-simulated', baseURL: provider.baseURL, maxRetries: 0 }),
      )
      const routes: Route[] = Array.from({ length: share }, () =>
        rng.weighted([
          ['support-answer', 0.4],
          ['summarize', 0.3],
          ['classify', 0.3],
        ] as const),
      )
      const questions = routes.map(() => rng.pick(QUESTIONS))
      const tickets = routes.map(() => rng.pick(TICKETS).repeat(rng.int(2, 8)))

      const call = async (i: number) => {
        const route = routes[i] ?? 'classify'
        const model = MODELS[release][route]
        result.calls++
        result.byModel[model] = (result.byModel[model] ?? 0) + 1
        const routeAttributes = { [HINDSIGHT.route]: route, [HINDSIGHT.release]: release }
        try {
          if (route === 'support-answer') {
            await inSpan(
              'support-answer',
              { ...routeAttributes, [HINDSIGHT.spanKind]: 'agent' },
              async () => {
                const docs = await inSpan(
                  'execute_tool search_knowledge_base',
                  {
                    ...routeAttributes,
                    [HINDSIGHT.spanKind]: 'tool',
                    [GEN_AI.operationName]: 'execute_tool',
                    [GEN_AI.toolName]: 'search_knowledge_base',
                  },
                  async () => {
                    await sleep(40 * timeScale)
                    return POLICY_LINES.slice(1, 3).join(' ')
                  },
                )
                const stream = await openai.chat.completions.create({
                  model,
                  stream: true,
                  stream_options: { include_usage: true },
                  messages: [
                    { role: 'system', content: SYSTEM_PROMPT },
                    { role: 'user', content: `${questions[i]}\n\nRelevant policy: ${docs}` },
                  ],
                })
                let answer = ''
                for await (const chunk of stream) answer += chunk.choices[0]?.delta?.content ?? ''
                return answer
              },
            )
          } else if (route === 'summarize') {
            await inSpan('summarize-ticket', { ...routeAttributes, [HINDSIGHT.spanKind]: 'chain' }, () =>
              openai.chat.completions.create({
                model,
                max_tokens: 300,
                messages: [
                  { role: 'system', content: 'Summarize the support ticket in three bullet points.' },
                  { role: 'user', content: tickets[i] ?? '' },
                ],
              }),
            )
          } else {
            await openai.chat.completions.create({
              model,
              max_tokens: 5,
              temperature: 0,
              messages: [
                { role: 'system', content: 'Classify the message as billing, shipping, account or other.' },
                { role: 'user', content: questions[i] ?? '' },
              ],
            })
          }
        } catch {
          // The SDK recorded the failure on the span; a real app would retry or show an error.
          result.errors++
        }
      }

      let next = 0
      const worker = async () => {
        while (next < share) await call(next++)
      }
      await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 6, share) }, worker))
      await shutdown()
      exported += getStats().exported
      options.log?.(`  ${release}: ${share} calls`)
    }
    result.exportedSpans = exported
  } finally {
    await provider.close()
  }
  return result
}
