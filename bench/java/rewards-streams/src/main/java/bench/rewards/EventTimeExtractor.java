package bench.rewards;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.streams.processor.TimestampExtractor;

/** event-time.ts: occurredAt / requestedAt of a record the topology will accept (the same
 *  validation as the processor). Kafka Streams has no "no event time": a record that fails
 *  validation keeps its own record timestamp (the project takes such a record as soon as it heads
 *  its queue and lets it move no clock). It changes no state either way, so only the place of a
 *  dead letter among other partitions' records can differ, never an output's content or its order
 *  within a partition. */
final class EventTimeExtractor implements TimestampExtractor {
  private final boolean reward;

  EventTimeExtractor(boolean reward) {
    this.reward = reward;
  }

  @Override
  public long extract(ConsumerRecord<Object, Object> record, long partitionTime) {
    byte[] key = (byte[]) record.key();
    byte[] value = (byte[]) record.value();
    Validation.Validated v = reward ? Validation.validateRewardRecord(key, value) : Validation.validateRedeemRecord(key, value);
    if (v.ok()) return v.eventTimeMs();
    return record.timestamp() >= 0 ? record.timestamp() : Math.max(partitionTime, 0);
  }
}
