// Process of `pnpm bench:sdk` that hosts the fake OpenAI server and the OTLP sink, so their CPU is not
// counted in any variant. Prints one JSON line `{ openaiBaseURL, sinkURL }`, then serves until its
// stdin closes (the benchmark closes it; so does the benchmark dying).
import { startFakeOpenAI } from '@hindsight/sdk/testing'
import { startOtlpSink } from './sdk-sink'
import { PROMPT_MARKER, REPLY, REPLY_MARKER } from './sdk-workload'

const fake = await startFakeOpenAI({ reply: { content: REPLY } })
const sink = await startOtlpSink({ markers: [PROMPT_MARKER, REPLY_MARKER] })
// The fake keeps every request for tests to inspect; tens of thousands of calls need no history.
const trim = setInterval(() => {
  fake.requests.length = 0
  fake.recorded.length = 0
}, 1000)
trim.unref()
process.stdout.write(`${JSON.stringify({ openaiBaseURL: fake.baseURL, sinkURL: sink.url })}\n`)
process.stdin.resume()
process.stdin.on('end', () => {
  void Promise.all([fake.close(), sink.close()]).finally(() => process.exit(0))
})
