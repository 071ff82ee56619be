/**
 * Test helpers for packages that run back-tests (the REST API, the CLI, the dashboard): the SDK's
 * fake OpenAI-compatible and Anthropic Messages servers a replay can be pointed at (candidate
 * `base_url`), without each package depending on the SDK.
 */
export {
  type FakeAnthropic,
  type FakeAnthropicOptions,
  type FakeAnthropicReply,
  type FakeOpenAI,
  type FakeOpenAIOptions,
  type FakeReply,
  startFakeAnthropic,
  startFakeOpenAI,
} from '@hindsight/sdk/testing'
