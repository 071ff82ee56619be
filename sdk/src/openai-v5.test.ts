import OpenAI, { APIError, InternalServerError, RateLimitError } from 'openai-v5'
import { Stream } from 'openai-v5/core/streaming'
import { describeOpenAIWrapper, type OpenAIKit } from './openai/wrapper.suite'

// openai v5, installed as the `openai-v5` alias. Its types differ in details from v7's, which the
// shared suite is written against; the calls it makes are the same.
describeOpenAIWrapper({
  label: 'openai v5',
  OpenAI: OpenAI as unknown as OpenAIKit['OpenAI'],
  APIError,
  RateLimitError,
  InternalServerError,
  Stream,
  errorEventThrows: false,
})
