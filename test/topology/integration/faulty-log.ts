// Fault injection for the engine's commit recovery tests: the real log (broker or embedded), with
// every transactional producer the engine creates wrapped so a test can make chosen commits fail
// the way the Kafka producer reports failures. Not a mock: topics, group, transactions are real.
import type { Log, LogProducer } from '../../../log/log-port.ts'

/** Wraps each transactional producer; other producers (the test's own input) are left alone. */
export function withTransactionalProducers (log: Log, wrap: (producer: LogProducer) => LogProducer): Log {
  return {
    kind: log.kind,
    admin: log.admin,
    createGroupConsumer: options => log.createGroupConsumer(options),
    createPartitionReader: options => log.createPartitionReader(options),
    createProducer: async options => options.transactionalId === undefined ? await log.createProducer(options) : wrap(await log.createProducer(options)),
    close: async () => await log.close()
  }
}
