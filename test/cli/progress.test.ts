// cli/progress.ts: the plain progress lines of rebuild, replay, reconcile and replay-dlq off a
// terminal. cli-progress's own ETA printed `ETA LLs` (its NaN marker `NULL` cut to two
// characters) when the work was empty or finished between two samples (`rewards reconcile`:
// `archive: 100% 0/0 records, 0/s, ETA LLs`).
import { PassThrough } from 'node:stream'
import { test } from 'tap'
import { Progress, etaText } from '../../cli/progress.ts'

function capture (): { stream: PassThrough, text: () => string } {
  const stream = new PassThrough()
  let out = ''
  stream.on('data', (chunk: Buffer) => { out += chunk.toString('utf8') })
  return { stream, text: () => out }
}

test('nothing to do: the line ends at 100 % with ETA 0s', async (t) => {
  const { stream, text } = capture()
  const progress = new Progress(stream, 'archive')
  progress.update(0, 0)
  progress.done(0)
  const lines = text().trim().split('\n')
  t.match(lines.at(-1), /^archive: 100% 0\/0 records, \d+\/s, ETA 0s$/)
  t.notMatch(text(), /LL|NF|NULL|INF/)
})

test('finished between two samples: ETA 0s, never LLs', async (t) => {
  const { stream, text } = capture()
  const progress = new Progress(stream, 'processor')
  progress.update(12189, 12189)
  progress.update(12189, 12189)
  progress.done(12189)
  t.match(text().trim().split('\n').at(-1), /^processor: 100% 12189\/12189 records, \d+\/s, ETA 0s$/)
  t.notMatch(text(), /LL|NF|NULL|INF/)
})

test('work found done at the first update is not a rate', async (t) => {
  const { stream, text } = capture()
  const progress = new Progress(stream, 'replay')
  progress.update(2000, 8665)
  progress.stop()
  t.match(text().trim().split('\n').at(-1), /^replay: 23% 2000\/8665 records, 0\/s, ETA \?$/)
})

test('under way: the ETA from the average rate', async (t) => {
  t.equal(etaText(0, 100, 0), '?')
  t.equal(etaText(50, 100, 10), '5s')
  t.equal(etaText(0, 1000, 10), '1m40s')
  t.equal(etaText(0, 100000, 10), '2h46m')
  t.equal(etaText(100, 100, 0), '0s')
})
