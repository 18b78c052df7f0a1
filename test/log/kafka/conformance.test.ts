// The generic log port conformance suite, on the Kafka backend and the local broker.
import t from 'tap'
import { createKafkaLog } from '../../../log/kafka/index.ts'
import { runPortConformance } from '../port-conformance.ts'
import { brokers, unique } from './kafka-test-helpers.ts'

runPortConformance(t, async () => createKafkaLog({ brokers, clientId: unique('conformance') }))
