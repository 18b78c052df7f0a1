// Retries one Kafka request by the log's policy (lib/resilience/kafka-policy.ts, request), on the
// errors kafka-errors.ts says a later attempt can cure.
import { kafkaRequestPolicy, type RequestRetryOptions } from '../../lib/resilience/kafka-policy.ts'
import { isRetriable } from './kafka-errors.ts'

export async function withKafkaRetry<T> (operation: () => Promise<T>, options: Omit<RequestRetryOptions, 'isRetriable'> = {}): Promise<T> {
  return await kafkaRequestPolicy({ ...options, isRetriable }).execute(() => operation())
}
