package bench.rewards;

import java.io.File;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.AutoOffsetReset;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.common.serialization.Serdes;

/** The rewards topology (processors/rewards/rewards-topology.ts) on Kafka Streams, Processor API:
 *
 *    reward-events ─┐                        ┌─► reward-confirmed
 *                   ├─► rewards-processor ───┼─► redeem-confirmed
 *    redeem-events ─┘   (six stores)         ├─► reward-events-dlq
 *                                            └─► redeem-events-dlq
 *
 *  java -jar rewards-streams.jar --bootstrap 127.0.0.1:9092 --application-id ID --topic-prefix P
 *    --guarantee exactly_once_v2|at_least_once --state-dir DIR --rules rules/2026-1.json
 *
 *  Prints "STATE <new>" on every state change (the bench waits for RUNNING); stops on SIGTERM. */
public final class RewardsStreamsMain {
  private RewardsStreamsMain() { }

  public static void main(String[] argv) throws Exception {
    Map<String, String> args = new HashMap<>();
    for (int i = 0; i + 1 < argv.length; i += 2) {
      if (!argv[i].startsWith("--")) throw new IllegalArgumentException("unexpected argument " + argv[i]);
      args.put(argv[i].substring(2), argv[i + 1]);
    }
    String prefix = args.getOrDefault("topic-prefix", "");
    String guarantee = args.getOrDefault("guarantee", "exactly_once_v2");
    if (!guarantee.equals("exactly_once_v2") && !guarantee.equals("at_least_once")) throw new IllegalArgumentException("--guarantee must be exactly_once_v2 or at_least_once");
    RuleSet rules = new RuleSet(new File(args.getOrDefault("rules", "rules/2026-1.json")));

    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, required(args, "application-id"));
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args.getOrDefault("bootstrap", "127.0.0.1:9092"));
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, guarantee);
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    // The project's defaults (topology/runtime/streams-config.ts): 100 ms under exactly-once,
    // 1000 ms under at-least-once (Kafka Streams' own ALOS default is 30 s), maxTaskIdleMs 50.
    props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, guarantee.equals("exactly_once_v2") ? 100 : 1000);
    props.put(StreamsConfig.MAX_TASK_IDLE_MS_CONFIG, 50);
    props.put(StreamsConfig.STATE_DIR_CONFIG, required(args, "state-dir"));
    props.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");

    KafkaStreams streams = new KafkaStreams(topology(rules, prefix), props);
    CountDownLatch stopped = new CountDownLatch(1);
    streams.setStateListener((next, old) -> {
      System.out.println("STATE " + next);
      System.out.flush();
      if (next == KafkaStreams.State.ERROR || next == KafkaStreams.State.NOT_RUNNING) stopped.countDown();
    });
    streams.setUncaughtExceptionHandler(e -> {
      e.printStackTrace();
      return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
    });
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      streams.close();
      stopped.countDown();
    }));
    streams.start();
    stopped.await();
    streams.close();
    if (streams.state() == KafkaStreams.State.ERROR) System.exit(1);
  }

  private static String required(Map<String, String> args, String name) {
    String v = args.get(name);
    if (v == null) throw new IllegalArgumentException("--" + name + " is required");
    return v;
  }

  static Topology topology(RuleSet rules, String prefix) {
    String rewardEvents = prefix + "reward-events";
    String redeemEvents = prefix + "redeem-events";
    ByteArrayDeserializer bytesIn = new ByteArrayDeserializer();
    ByteArraySerializer bytesOut = new ByteArraySerializer();
    StringSerializer text = new StringSerializer();
    Topology t = new Topology()
        .addSource(AutoOffsetReset.earliest(), "reward-events-source", new EventTimeExtractor(true), bytesIn, bytesIn, rewardEvents)
        .addSource(AutoOffsetReset.earliest(), "redeem-events-source", new EventTimeExtractor(false), bytesIn, bytesIn, redeemEvents)
        .addProcessor("rewards-processor", () -> new RewardsProcessor(rules, rewardEvents, redeemEvents), "reward-events-source", "redeem-events-source");
    // RocksDB, changelogged, with the write cache (the project's stores cache writes until commit).
    for (String store : RewardsProcessor.STORES) {
      t.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(store), Serdes.String(), Serdes.String()).withCachingEnabled(), "rewards-processor");
    }
    // Confirmations: key memberId (UTF-8), value the JSON text; dead letters: the input bytes.
    return t
        .addSink(RewardsProcessor.REWARD_CONFIRMED_SINK, prefix + "reward-confirmed", text, text, "rewards-processor")
        .addSink(RewardsProcessor.REDEEM_CONFIRMED_SINK, prefix + "redeem-confirmed", text, text, "rewards-processor")
        .addSink(RewardsProcessor.REWARD_DLQ_SINK, prefix + "reward-events-dlq", bytesOut, bytesOut, "rewards-processor")
        .addSink(RewardsProcessor.REDEEM_DLQ_SINK, prefix + "redeem-events-dlq", bytesOut, bytesOut, "rewards-processor");
  }
}
