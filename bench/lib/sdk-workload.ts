// The one request every variant of `pnpm bench:sdk` makes, shared by the fake-server process and the
// variant children. The markers let the OTLP sink check that content capture really is on: they
// are counted in every exported byte (a streamed reply is only found if the instrumentation
// reassembled it).

export const MODEL = 'gpt-4o-mini'
export const PROMPT_MARKER = 'hsbench-prompt-7f3a9c'
export const REPLY_MARKER = 'hsbench-reply-c91e04'

export const MESSAGES = [
  {
    role: 'system',
    content:
      'You are the support assistant of an online shop. Answer in two sentences at most, quote the order number, and never promise a refund.',
  },
  {
    role: 'user',
    content: `Hello, my order #4821 was supposed to arrive on Monday and the tracking page still says "label created". Can you tell me where it is and when it will arrive? (${PROMPT_MARKER})`,
  },
] as const

/** About 120 characters: 30 content chunks of 4 characters when streamed, as the fake server cuts it. */
export const REPLY = `Order #4821 left our warehouse this morning; the carrier expects to deliver it within two business days. (${REPLY_MARKER})`
