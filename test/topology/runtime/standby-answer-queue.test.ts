// StandbyAnswerQueue: one fetch on the wire; the next goes out once no answer with records waits,
// or, up to MAX_AHEAD waiting, when partitions registered since; an empty answer back during a
// write is dropped; a failure rejects the writer waiting, or is reported when none waits. And the
// readFor checks of an answer written after its partition was registered again.
import t from 'tap'
import { MAX_AHEAD, readForRegistration, StandbyAnswerQueue, writableFor, type FetchAnswer } from '../../../topology/runtime/standby-answer-queue.ts'

type Answer = FetchAnswer<string>

function answer (records: boolean, readFor: Array<[string, string]> = []): Answer {
  return { runs: records ? [{ topic: 'c', partition: 0, entries: [{ key: Buffer.from('k'), value: null }] }] : [], positions: new Map(), readFor: new Map(readFor) }
}

/** A queue over fetches answered by hand, in order. */
function harness (o: { running?: boolean, toRead?: boolean } = {}) {
  const sent: Array<{ waitMs: number, resolve: (a: Answer) => void, reject: (e: unknown) => void }> = []
  const failures: unknown[] = []
  let failed = false
  const queue = new StandbyAnswerQueue<Answer>({
    fetch: async waitMs => await new Promise<Answer>((resolve, reject) => { sent.push({ waitMs, resolve, reject }) }),
    toRead: () => o.toRead ?? true,
    waitMs: () => 500,
    running: () => o.running ?? false,
    failed: () => failed,
    fail: error => { failed = true; failures.push(error) }
  })
  return { queue, sent, failures }
}

const turn = async (): Promise<void> => { await new Promise(resolve => setTimeout(resolve, 15)) }

t.test('one fetch on the wire; the next once the answer with records is taken', async t => {
  const { queue, sent } = harness()
  queue.send()
  queue.send()
  t.equal(sent.length, 1, 'one fetch on the wire')
  t.equal(sent[0]!.waitMs, 500)
  t.ok(queue.onWire)
  sent[0]!.resolve(answer(true))
  await turn()
  t.notOk(queue.onWire)
  queue.send()
  t.equal(sent.length, 1, 'an answer with records waits: no fetch')
  const taken = queue.take()
  t.equal(taken?.runs.length, 1)
  queue.send()
  t.equal(sent.length, 2, 'nothing waits: the next fetch goes')
})

t.test('registrations since the last fetch send the next one with answers waiting, up to MAX_AHEAD', async t => {
  const { queue, sent } = harness()
  queue.send()
  for (let i = 0; i < MAX_AHEAD; i++) {
    sent.at(-1)!.resolve(answer(true))
    await turn()
    queue.registered()
    queue.send()
  }
  t.equal(sent.length, MAX_AHEAD, `a fetch per registration while fewer than ${MAX_AHEAD} wait`)
  sent.at(-1)!.resolve(answer(true))
  await turn()
  queue.registered()
  queue.send()
  t.equal(sent.length, MAX_AHEAD, 'no more with MAX_AHEAD answers waiting')
  queue.clear()
  t.equal(queue.take(), undefined, 'clear() drops the answers')
})

t.test('an empty answer during a write is dropped and, while running, asked again', async t => {
  const { queue, sent } = harness({ running: true })
  queue.send()
  queue.writing(true)
  sent[0]!.resolve(answer(false))
  await turn()
  t.equal(queue.take(), undefined, 'dropped')
  t.equal(sent.length, 2, 'sent again')
  queue.writing(false)
  sent[1]!.resolve(answer(false))
  await turn()
  t.equal(queue.take()?.runs.length, 0, 'an empty answer outside a write is kept (the writer takes its positions)')
})

t.test('nothing to read, or failed: no fetch', async t => {
  const idle = harness({ toRead: false })
  idle.queue.send()
  t.equal(idle.sent.length, 0)
  const { queue, sent, failures } = harness()
  queue.send()
  sent[0]!.reject(new Error('boom'))
  await turn()
  t.same(failures.map(e => (e as Error).message), ['boom'], 'reported when no writer waits')
  queue.send()
  t.equal(sent.length, 1, 'no fetch once failed')
})

t.test('the writer waiting for an answer: woken, or rejected by the failure', async t => {
  const { queue, sent, failures } = harness()
  queue.send()
  const waiting = queue.answered()
  sent[0]!.resolve(answer(true))
  await waiting
  t.equal(queue.take()?.runs.length, 1, 'woken with the answer')
  queue.send()
  const failing = queue.answered()
  sent[1]!.reject(new Error('down'))
  await t.rejects(failing, { message: 'down' })
  t.same(failures, [], 'the waiter got it')
})

t.test('readFor: positions only for the registration fetched for; records unless another one', async t => {
  const a = answer(true, [['c-0', 'first']])
  t.ok(readForRegistration(a, 'c-0', 'first'))
  t.notOk(readForRegistration(a, 'c-0', 'again'), 'registered again since: stale')
  t.notOk(readForRegistration(a, 'c-1', 'first'), 'not fetched for')
  t.ok(writableFor(a, 'c-0', 'first'))
  t.notOk(writableFor(a, 'c-0', 'again'))
  t.ok(writableFor(a, 'c-1', 'any'), 'a partition the fetch was not sent for')
})
