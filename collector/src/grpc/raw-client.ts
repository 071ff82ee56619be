/**
 * Test helper: a grpc-js client for the OTLP trace service that sends and receives raw bytes
 * (the same method definition the receiver serves), for tests that need exact control over the
 * request message. Not exported from the package index; never used at runtime.
 */
import {
  type ChannelOptions,
  type Client,
  credentials,
  type Metadata,
  makeGenericClientConstructor,
  type ServiceError,
} from '@grpc/grpc-js'
import { TRACE_SERVICE } from './grpc-receiver'

export interface RawTraceClient extends Client {
  Export(
    request: Buffer,
    metadata: Metadata,
    options: { deadline: number },
    callback: (error: ServiceError | null, response?: Buffer) => void,
  ): void
}

const RawTraceClientConstructor = makeGenericClientConstructor(TRACE_SERVICE, 'TraceService')

/** An insecure raw-bytes client for `target` (`host:port`, or the receiver's `http://host:port` url). */
export function rawTraceClient(target: string, options: ChannelOptions = {}): RawTraceClient {
  return new RawTraceClientConstructor(
    target.replace(/^http:\/\//, ''),
    credentials.createInsecure(),
    options,
  ) as unknown as RawTraceClient
}
