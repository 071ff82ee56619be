import OpenAI, { APIError, InternalServerError, RateLimitError } from 'openai'
import { Stream } from 'openai/core/streaming'
import { describeOpenAIWrapper } from './openai/wrapper.suite'

// openai v7, the current major (the plain `openai` devDependency).
describeOpenAIWrapper({
  label: 'openai v7',
  OpenAI,
  APIError,
  RateLimitError,
  InternalServerError,
  Stream,
  errorEventThrows: true,
})
