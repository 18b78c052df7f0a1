package bench.rewards;

import java.io.File;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import java.time.Duration;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.AutoOffsetReset;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.BranchedKStream;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KGroupedStream;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.state.WindowStore;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.common.serialization.Serdes;

/** The rewards topology (processors/rewards/rewards-topology.ts) on Kafka Streams: the DSL around
 *  one Processor API processor (the ledger's rules), and the points windows the DSL way:
 *
 *    reward-events ─┐                        ┌─► reward-confirmed
 *                   ├─► rewards-processor ───┼─► redeem-confirmed
 *    redeem-events ─┘   (six stores)         ├─► reward-events-dlq
 *                                            ├─► redeem-events-dlq
 *                                            └─► points-issued (key propertyId) ─► repartition
 *                                                 ─► groupByKey ─┬─ 1 h window ─► points-per-property-hour
 *                                                                └─ 1 d window ─► points-per-property-day
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

  /** The sinks of RewardsProcessor's routes (Routed): key and value serializers by route. */
  private static final Map<String, String> SINK_TOPICS = Map.of(
      RewardsProcessor.REWARD_CONFIRMED_SINK, "reward-confirmed",
      RewardsProcessor.REDEEM_CONFIRMED_SINK, "redeem-confirmed",
      RewardsProcessor.REWARD_DLQ_SINK, "reward-events-dlq",
      RewardsProcessor.REDEEM_DLQ_SINK, "redeem-events-dlq");

  static final Duration HOUR = Duration.ofHours(1);
  static final Duration DAY = Duration.ofDays(1);

  @SuppressWarnings("unchecked")
  static Topology topology(RuleSet rules, String prefix) {
    String rewardEvents = prefix + "reward-events";
    String redeemEvents = prefix + "redeem-events";
    StreamsBuilder builder = new StreamsBuilder();
    // RocksDB, changelogged, with the write cache (the project's stores cache writes until commit).
    for (String store : RewardsProcessor.STORES) {
      builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(store), Serdes.String(), Serdes.String()).withCachingEnabled());
    }
    KStream<byte[], byte[]> rewards = builder.stream(rewardEvents, Consumed.with(Serdes.ByteArray(), Serdes.ByteArray())
        .withTimestampExtractor(new EventTimeExtractor(true)).withOffsetResetPolicy(AutoOffsetReset.earliest()).withName("reward-events-source"));
    KStream<byte[], byte[]> redeems = builder.stream(redeemEvents, Consumed.with(Serdes.ByteArray(), Serdes.ByteArray())
        .withTimestampExtractor(new EventTimeExtractor(false)).withOffsetResetPolicy(AutoOffsetReset.earliest()).withName("redeem-events-source"));
    KStream<Object, Object> out = rewards.merge(redeems, Named.as("rewards-input"))
        .process(() -> new RewardsProcessor(rules, rewardEvents, redeemEvents), Named.as("rewards-processor"), RewardsProcessor.STORES.toArray(new String[0]));

    // Confirmations: key memberId (UTF-8), value the JSON text; dead letters: the input bytes.
    BranchedKStream<Object, Object> routes = out.split(Named.as("route-"));
    for (Map.Entry<String, String> sink : SINK_TOPICS.entrySet()) {
      String route = sink.getKey();
      boolean text = route.equals(RewardsProcessor.REWARD_CONFIRMED_SINK) || route.equals(RewardsProcessor.REDEEM_CONFIRMED_SINK);
      routes.branch((k, v) -> ((RewardsProcessor.Routed) v).route().equals(route), Branched.withConsumer(s -> {
        KStream<Object, Object> values = s.mapValues(v -> ((RewardsProcessor.Routed) v).value(), Named.as(route + "-value"));
        if (text) ((KStream<String, String>) (KStream<?, ?>) values).to(prefix + sink.getValue(), Produced.with(Serdes.String(), Serdes.String()).withName(route));
        else ((KStream<byte[], byte[]>) (KStream<?, ?>) values).to(prefix + sink.getValue(), Produced.with(Serdes.ByteArray(), Serdes.ByteArray()).withName(route));
      }, route));
    }

    // The points windows (processors/rewards/points-windows.ts, docs/rewards.md "Points issued per
    // property"): each accepted EARN/REVERSAL decision, keyed by propertyId, through one
    // repartition topic (<application-id>-points-by-property-repartition), counted per hour
    // (grace 1 day, retention 35 days) and per day (grace 2 days, retention 400 days) of its event
    // time, in two windowed stores (RocksDB, changelogged, cached). No output topic.
    routes.branch((k, v) -> ((RewardsProcessor.Routed) v).route().equals(RewardsProcessor.POINTS_ISSUED), Branched.withConsumer(s -> {
      KStream<String, String> issued = (KStream<String, String>) (KStream<?, ?>) s.mapValues(v -> ((RewardsProcessor.Routed) v).value(), Named.as("points-issued-value"));
      KGroupedStream<String, String> byProperty = issued
          .repartition(Repartitioned.<String, String>as("points-by-property").withKeySerde(Serdes.String()).withValueSerde(Serdes.String()))
          .groupByKey(Grouped.with(Serdes.String(), Serdes.String()));
      window(byProperty, "points-per-property-hour", HOUR, DAY, Duration.ofDays(35));
      window(byProperty, "points-per-property-day", DAY, Duration.ofDays(2), Duration.ofDays(400));
    }, RewardsProcessor.POINTS_ISSUED));
    routes.noDefaultBranch();
    return builder.build();
  }

  private static void window(KGroupedStream<String, String> byProperty, String store, Duration size, Duration grace, Duration retention) {
    byProperty.windowedBy(TimeWindows.ofSizeAndGrace(size, grace))
        .aggregate(() -> PointsWindow.EMPTY, (property, issued, aggregate) -> aggregate.add(issued), Named.as(store + "-aggregate"),
            Materialized.<String, PointsWindow, WindowStore<Bytes, byte[]>>as(store).withKeySerde(Serdes.String()).withValueSerde(PointsWindow.SERDE).withRetention(retention));
  }
}
