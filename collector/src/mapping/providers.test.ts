import assert from 'node:assert/strict'
import { test } from 'node:test'
import { normalizeProvider, openInferenceProvider } from './providers'

test('provider spellings of every dialect map to the price table names', () => {
  const cases: Array<[string, string]> = [
    ['openai', 'openai'],
    ['OpenAI', 'openai'],
    ['openai.chat', 'openai'],
    ['openai.responses', 'openai'],
    ['openai.embedding', 'openai'],
    ['anthropic', 'anthropic'],
    ['anthropic.messages', 'anthropic'],
    ['az.ai.openai', 'azure.ai.openai'],
    ['azure.ai.openai', 'azure.ai.openai'],
    ['azure-openai', 'azure.ai.openai'],
    ['azure.chat', 'azure.ai.openai'],
    ['azure', 'azure.ai.openai'],
    ['az.ai.inference', 'azure.ai.inference'],
    ['azure.ai.inference', 'azure.ai.inference'],
    ['aws.bedrock', 'aws.bedrock'],
    ['amazon-bedrock', 'aws.bedrock'],
    ['bedrock', 'aws.bedrock'],
    ['aws', 'aws.bedrock'],
    ['gcp.vertex_ai', 'gcp.vertex_ai'],
    ['vertexai', 'gcp.vertex_ai'],
    ['google.vertex.chat', 'gcp.vertex_ai'],
    ['google.vertex.anthropic.messages', 'gcp.vertex_ai'],
    ['google-vertex', 'gcp.vertex_ai'],
    ['gcp.gemini', 'gcp.gemini'],
    ['google.generative-ai', 'gcp.gemini'],
    ['gemini', 'gcp.gemini'],
    ['mistralai', 'mistral_ai'],
    ['mistral.chat', 'mistral_ai'],
    ['xai', 'x_ai'],
    ['xai.chat', 'x_ai'],
    ['groq.chat', 'groq'],
    ['deepseek.chat', 'deepseek'],
    ['  Cohere ', 'cohere'],
    ['my-own-gateway', 'my-own-gateway'],
    ['', ''],
  ]
  for (const [raw, canonical] of cases) assert.equal(normalizeProvider(raw), canonical, raw)
})

test('OpenInference: the host decides (Claude on Bedrock is aws.bedrock); Google by vendor', () => {
  assert.equal(openInferenceProvider('aws', 'anthropic'), 'aws.bedrock')
  assert.equal(openInferenceProvider('azure', 'openai'), 'azure.ai.openai')
  assert.equal(openInferenceProvider('google', 'vertexai'), 'gcp.vertex_ai')
  assert.equal(openInferenceProvider('google', ''), 'gcp.gemini')
  assert.equal(openInferenceProvider('', 'anthropic'), 'anthropic')
  assert.equal(openInferenceProvider('', 'mistralai'), 'mistral_ai')
  assert.equal(openInferenceProvider('', ''), '')
})
