import OpenAI, { APIError, InternalServerError, RateLimitError } from 'openai-v6'
import { Stream } from 'openai-v6/core/streaming'
import { describeOpenAIWrapper, type OpenAIKit } from './openai/wrapper.suite'

// openai v6, installed as the `openai-v6` alias. Its types differ in details from v7's, which the
// shared suite is written against; the calls it makes are the same.
describeOpenAIWrapper({
  label: 'openai v6',
  OpenAI: OpenAI as unknown as OpenAIKit['OpenAI'],
  APIError,
  RateLimitError,
  InternalServerError,
  Stream,
  errorEventThrows: false,
})
