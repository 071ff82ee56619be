'use client'
/**
 * The empty state of a project: the two lines that send its first traces, with the endpoint and
 * (when this process knows it) the key filled in, so the block can be pasted as is.
 */
import { useState } from 'react'

export interface SetupInfo {
  projectName: string
  endpoint: string
  apiKey: string | null
}

const KEY_PLACEHOLDER = '<your project API key>'
// Kept out of the template below so the dependency check does not read the snippet as an import.
const SDK_PACKAGE = '@hindsight/sdk'

export function setupCode(info: Pick<SetupInfo, 'endpoint' | 'apiKey'>): string {
  return [
    `import { init, wrapOpenAI } from '${SDK_PACKAGE}'`,
    `init({ endpoint: '${info.endpoint}', apiKey: '${info.apiKey ?? KEY_PLACEHOLDER}' })`,
    `const openai = wrapOpenAI(new OpenAI())`,
  ].join('\n')
}

export function SetupSnippet({ info }: { info: SetupInfo }) {
  const [copied, setCopied] = useState(false)
  const code = setupCode(info)
  return (
    <section className="panel setup" data-testid="setup-snippet">
      <h2>No traces in “{info.projectName}” yet</h2>
      <p>
        Add two lines where your app creates its OpenAI client; every call is then traced, priced and shown
        here within seconds.
      </p>
      <div className="code-block">
        <pre data-testid="setup-code">{code}</pre>
        <button
          type="button"
          className="btn copy"
          onClick={() => {
            void navigator.clipboard?.writeText(code).then(() => {
              setCopied(true)
              setTimeout(() => setCopied(false), 1500)
            })
          }}
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
      {info.apiKey ? null : (
        <p className="note" data-testid="setup-key-hint">
          This server does not know the project’s key (keys are stored only as hashes). Use the key printed
          when Hindsight first started, or the one you set with <code>HINDSIGHT_INIT_API_KEY</code>.
        </p>
      )}
      <p className="muted">
        No app at hand? Run <code>pnpm demo</code> in the repository to send realistic demo traffic to this
        instance, then reload. Other languages and frameworks can send OpenTelemetry GenAI spans over
        OTLP/HTTP to <code>{info.endpoint}/v1/traces</code> with{' '}
        <code>Authorization: Bearer &lt;key&gt;</code>.
      </p>
    </section>
  )
}
