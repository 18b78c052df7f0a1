// The balance fast lane's last answer per member (api/routes/balance-fast-lane.ts): the balance
// object it was made from, and its body, ETag and Content-Length. A store of immutable values
// (processors/rewards/rewards-topology.ts STATE_VALUES) hands a query the same decoded object
// while the member's balance is unchanged and a new object once it changes (or once the read
// cache dropped it), so the same object means the same body: one look-up and one comparison
// answer what the balance text memo and the ETag memo would (two look-ups, a property-by-property
// comparison), and touch one small entry (docs/benchmarks.md "API balance query, ninth pass").
// Ownership is not in the entry: the lane reads the store on every request, and that read answers
// only for a member whose task is here, running and readable.
import type { Balance } from '../../processors/rewards/schemas.ts'
import { bodyFacts } from './conditional-get.ts'

export interface MemberAnswer {
  readonly balance: Balance
  readonly body: string
  readonly etag: string
  readonly length: string
}

const MAX_MEMBERS = 4096

export class MemberAnswers {
  readonly #entries = new Map<string, MemberAnswer>()
  readonly #max: number

  constructor (max = MAX_MEMBERS) {
    this.#max = max
  }

  /** The answer made from exactly this balance object, if it is the member's last. */
  of (memberId: string, balance: Balance): MemberAnswer | undefined {
    const entry = this.#entries.get(memberId)
    return entry !== undefined && entry.balance === balance ? entry : undefined
  }

  /** Keeps `body` (the balance's JSON text) as the member's answer; bounded, oldest member first. */
  keep (memberId: string, balance: Balance, body: string): MemberAnswer {
    const { etag, length } = bodyFacts(body)
    const entry = { balance, body, etag, length }
    if (!this.#entries.has(memberId) && this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value!)
    this.#entries.set(memberId, entry)
    return entry
  }
}
