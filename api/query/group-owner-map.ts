// Which instance owns a member, for an API instance that runs no stream application (role
// `api`): read from the consumer group itself. Every processor instance puts its host:port in its
// group subscription (userData) and the group description lists each member's partitions, so the
// owner of member M is the member assigned partition murmur2(M) mod N of reward-events (tasks are
// co-partitioned: that member owns the task). Cached for `ttlMs`; refreshed at once when a
// forward fails. See docs/decisions/0006-query-routing.md.
import { RewardsError } from '../../lib/errors.ts'
import { applicationServerOf, partitionForKey, type Log } from '../../topology/index.ts'

interface OwnerSnapshot {
  readonly partitions: number
  readonly hosts: ReadonlyMap<number, string | null>
  readonly stable: boolean
  readonly atMs: number
}

export class GroupOwnerMap {
  readonly #log: () => Promise<Log>
  readonly #groupId: string
  readonly #topic: string
  readonly #ttlMs: number
  #snapshot: OwnerSnapshot | undefined
  #loading: Promise<OwnerSnapshot> | undefined

  constructor (options: { log: () => Promise<Log>, groupId: string, topic: string, ttlMs?: number }) {
    this.#log = options.log
    this.#groupId = options.groupId
    this.#topic = options.topic
    this.#ttlMs = options.ttlMs ?? 2_000
  }

  invalidate (): void {
    this.#snapshot = undefined
  }

  async owner (memberId: string): Promise<string> {
    let snapshot = this.#snapshot
    if (snapshot === undefined || Date.now() - snapshot.atMs >= this.#ttlMs) snapshot = await this.#load()
    if (!snapshot.stable || snapshot.partitions === 0) throw new RewardsError('STORE_NOT_READY', 'the processor group is rebalancing or has no members')
    const partition = partitionForKey(Buffer.from(memberId, 'utf8'), snapshot.partitions)
    const host = snapshot.hosts.get(partition)
    if (host === undefined || host === null) throw new RewardsError('STORE_NOT_READY', `no processor instance with an API listener owns partition ${partition}`)
    return host
  }

  /** Every processor instance's host:port in the group, and the partition count of the input
   *  topic (= tasks), for lookups that ask every instance (redemptions by id). */
  async instances (): Promise<{ partitions: number, hosts: string[] }> {
    let snapshot = this.#snapshot
    if (snapshot === undefined || Date.now() - snapshot.atMs >= this.#ttlMs) snapshot = await this.#load()
    const hosts = new Set<string>()
    for (const host of snapshot.hosts.values()) if (host !== null) hosts.add(host)
    return { partitions: snapshot.partitions, hosts: [...hosts].sort() }
  }

  #load (): Promise<OwnerSnapshot> {
    this.#loading ??= (async () => {
      try {
        const log = await this.#log()
        const [group, topics] = await Promise.all([log.admin.describeGroup(this.#groupId), log.admin.describeTopics([this.#topic])])
        const hosts = new Map<number, string | null>()
        for (const member of group.members) {
          const host = applicationServerOf(member.userData, member.memberId)
          for (const tp of member.assignment) if (tp.topic === this.#topic) hosts.set(tp.partition, host)
        }
        const snapshot = { partitions: topics[0]?.partitions ?? 0, hosts, stable: group.state === 'Stable', atMs: Date.now() }
        this.#snapshot = snapshot
        return snapshot
      } finally {
        this.#loading = undefined
      }
    })()
    return this.#loading
  }
}
