/**
 * Test helpers for packages that run back-tests (the REST API, the CLI): the SDK's fake
 * OpenAI-compatible server a replay can be pointed at, without each package depending on the SDK.
 */
export { type FakeOpenAI, type FakeOpenAIOptions, startFakeOpenAI } from '@hindsight/sdk/testing'
