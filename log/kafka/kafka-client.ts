// The connection layer every Kafka component shares: cluster metadata (through a platformatic
// Admin client), connection pools per purpose (a group coordinator connection must not queue
// behind a long-poll fetch: a broker answers one request per connection at a time), partition
// leaders and group / transaction coordinators (cached, forgotten on NOT_COORDINATOR).
// The one place the connection security (SASL, TLS) is turned into client options: the Admin, every
// pool and every Producer take `connectionOptions` from here.
import { Admin, ConnectionPool, findCoordinatorV6 } from '@platformatic/kafka'
import type { Broker, ClusterMetadata, Connection, ConnectionOptions } from '@platformatic/kafka'
import { StreamsError } from '../../topology/streams-error.ts'
import { isCoordinatorError, isNetworkError, toStreamsError } from './kafka-errors.ts'
import { withKafkaRetry } from './kafka-retry.ts'

/** How connections authenticate and encrypt (MSK: SCRAM-SHA-512 over TLS). Absent: plaintext. */
export interface KafkaSecurity {
  readonly sasl?: {
    readonly mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'
    readonly username: string
    readonly password: string
  }
  /** TLS to every broker; `ca`: PEM certificates to trust instead of Node's public CAs. */
  readonly tls?: { readonly ca?: string }
}

export interface KafkaClientOptions {
  readonly brokers: string[]
  readonly clientId: string
  /** Connection establishment timeout. Default 5000 ms. */
  readonly connectTimeoutMs?: number
  readonly security?: KafkaSecurity
}

/** The security part of every platformatic connection's options. */
export function connectionSecurityOptions (security: KafkaSecurity | undefined): Pick<ConnectionOptions, 'sasl' | 'tls'> {
  return {
    ...(security?.sasl === undefined ? {} : { sasl: { ...security.sasl } }),
    // An empty object still means TLS (Node's default trust store).
    ...(security?.tls === undefined ? {} : { tls: security.tls.ca === undefined ? {} : { ca: security.tls.ca } })
  }
}

export type CoordinatorType = 'group' | 'transaction'

const COORDINATOR_KEY_TYPE: Record<CoordinatorType, number> = { group: 0, transaction: 1 }

export function parseBroker (address: string): Broker {
  const at = address.lastIndexOf(':')
  if (at < 0) return { host: address, port: 9092 }
  return { host: address.slice(0, at), port: Number(address.slice(at + 1)) }
}

export class KafkaClient {
  readonly brokers: Broker[]
  readonly clientId: string
  readonly admin: Admin
  /** SASL / TLS options for anything that opens its own connections (the Producer). */
  readonly connectionOptions: Pick<ConnectionOptions, 'sasl' | 'tls'>
  readonly #connectTimeoutMs: number
  readonly #coordinators = new Map<string, number>()
  readonly #pools = new Set<ConnectionPool>()
  #closed = false

  constructor (options: KafkaClientOptions) {
    this.brokers = options.brokers.map(parseBroker)
    this.clientId = options.clientId
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 5000
    this.connectionOptions = Object.freeze(connectionSecurityOptions(options.security))
    this.admin = new Admin({
      ...this.connectionOptions,
      clientId: options.clientId,
      bootstrapBrokers: options.brokers,
      connectTimeout: this.#connectTimeoutMs,
      retries: 3,
      retryDelay: 200,
      metadataMaxAge: 5000
    })
  }

  get closed (): boolean {
    return this.#closed
  }

  assertOpen (): void {
    if (this.#closed) throw new StreamsError('LOG_CLOSED')
  }

  /** A connection pool of its own (closed with the client, or earlier with closePool). */
  createPool (requestTimeoutMs = 30_000, clientId = this.clientId): ConnectionPool {
    this.assertOpen()
    const pool = new ConnectionPool(clientId, { ...this.connectionOptions, connectTimeout: this.#connectTimeoutMs, requestTimeout: requestTimeoutMs, maxInflights: 5 })
    this.#pools.add(pool)
    return pool
  }

  async closePool (pool: ConnectionPool): Promise<void> {
    this.#pools.delete(pool)
    await pool.close()
  }

  /** Cluster metadata for `topics` (fails with LOG_TOPIC_NOT_FOUND if one does not exist). */
  async metadata (topics: string[], forceUpdate = false): Promise<ClusterMetadata> {
    this.assertOpen()
    try {
      // A copy: platformatic sorts the topics array it is given in place.
      return await withKafkaRetry(() => this.admin.metadata({ topics: [...topics], forceUpdate }), { isClosed: () => this.#closed })
    } catch (error) {
      if (error instanceof Error && /Unknown topic/.test(error.message)) throw new StreamsError('LOG_TOPIC_NOT_FOUND', error.message, { cause: error })
      throw toStreamsError(error, 'LOG_CONNECTION', 'metadata')
    }
  }

  async partitionCount (topic: string): Promise<number> {
    const metadata = await this.metadata([topic])
    const found = metadata.topics.get(topic)
    if (found === undefined) throw new StreamsError('LOG_TOPIC_NOT_FOUND', `Topic ${topic} does not exist`)
    return found.partitionsCount
  }

  async connectionToNode (pool: ConnectionPool, nodeId: number, metadata?: ClusterMetadata): Promise<Connection> {
    const cluster = metadata ?? await this.metadata([])
    let broker = cluster.brokers.get(nodeId)
    if (broker === undefined) broker = (await this.metadata([], true)).brokers.get(nodeId)
    if (broker === undefined) throw new StreamsError('LOG_CONNECTION', `Unknown broker node ${nodeId}`)
    return await pool.get(broker)
  }

  async bootstrapConnection (pool: ConnectionPool): Promise<Connection> {
    return await pool.getFirstAvailable(this.brokers)
  }

  /** Node id of the coordinator of a group or a transactional id (cached). */
  async coordinatorNode (type: CoordinatorType, key: string, pool: ConnectionPool): Promise<number> {
    const cacheKey = `${type}:${key}`
    const cached = this.#coordinators.get(cacheKey)
    if (cached !== undefined) return cached
    const nodeId = await withKafkaRetry(async () => {
      const connection = await this.bootstrapConnection(pool)
      const response = await findCoordinatorV6.api.async(connection, COORDINATOR_KEY_TYPE[type], [key])
      const coordinator = response.coordinators.find(c => c.key === key) ?? response.coordinators[0]
      if (coordinator === undefined) throw new StreamsError('LOG_CONNECTION', `No coordinator for ${cacheKey}`)
      return coordinator.nodeId
    }, { isClosed: () => this.#closed })
    this.#coordinators.set(cacheKey, nodeId)
    return nodeId
  }

  async coordinatorConnection (type: CoordinatorType, key: string, pool: ConnectionPool): Promise<Connection> {
    const nodeId = await this.coordinatorNode(type, key, pool)
    return await this.connectionToNode(pool, nodeId)
  }

  forgetCoordinator (type: CoordinatorType, key: string): void {
    this.#coordinators.delete(`${type}:${key}`)
  }

  /** Runs a request against a coordinator, retrying (and finding the coordinator again) when it
   *  moved, is loading, or the connection failed. */
  async withCoordinator<T> (type: CoordinatorType, key: string, pool: ConnectionPool, request: (connection: Connection) => Promise<T>, attempts = 8): Promise<T> {
    return await withKafkaRetry(async () => {
      const connection = await this.coordinatorConnection(type, key, pool)
      return await request(connection)
    }, {
      attempts,
      isClosed: () => this.#closed,
      onRetry: error => { if (isCoordinatorError(error) || isNetworkError(error)) this.forgetCoordinator(type, key) }
    })
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    const pools = [...this.#pools]
    this.#pools.clear()
    await Promise.allSettled(pools.map(pool => pool.close()))
    await this.admin.close()
  }
}
