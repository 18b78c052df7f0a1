import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import t from 'tap'
import { openEmbeddedLog } from '../../../log/embedded/index.ts'
import type { LogRecord } from '../../../log/log-port.ts'
import { pollUntil, tempDir } from './helpers.ts'

const root = join(import.meta.dirname, '..', '..', '..')
const nodeBin = join(root, 'node_modules', '.bin', 'node')
const fixture = join(import.meta.dirname, 'fixtures', 'append-transactions.ts')
const RECORDS_PER_TRANSACTION = 5

async function runAndKill (dir: string, killAfter: number): Promise<number> {
  const child = spawn(nodeBin, [fixture, dir, String(RECORDS_PER_TRANSACTION)], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  let reported = 0
  let buffered = ''
  const exited = once(child, 'exit')
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString()
      const lines = buffered.split('\n')
      buffered = lines.pop()!
      for (const line of lines) {
        const match = /^committed (\d+)$/.exec(line)
        if (match !== null) reported = Number(match[1])
      }
      if (reported >= killAfter) {
        child.kill('SIGKILL') // mid-way: the child is busy appending the next transaction
        resolve()
      }
    })
    exited.then(([code]) => { reject(new Error(`fixture exited early (${String(code)}): ${stderr}`)) }, reject)
  })
  const [, signal] = await exited
  if (signal !== 'SIGKILL') throw new Error(`fixture not killed: ${String(signal)}`)
  return reported
}

t.test('kill -9 while appending transactions: every reported transaction is there, nothing partial', async t => {
  const dir = await tempDir(t)
  for (const killAfter of [150, 400]) { // the second child restarts on the dir of the first
    const reported = await runAndKill(dir, killAfter)
    t.ok(reported >= killAfter, `child reported ${reported} transactions before the kill`)

    const log = await openEmbeddedLog({ dir })
    try {
      const [committed] = await log.admin.listCommittedOffsets('app', [{ topic: 'in', partition: 0 }])
      const transactions = Number(committed!.offset)
      t.ok(transactions >= reported, `every reported transaction committed (${transactions} >= ${reported})`)
      t.ok(transactions <= reported + 1, 'at most the one in flight beyond the reported ones')

      const reader = log.createPartitionReader({ clientId: 'check' })
      const ends = await log.admin.listOffsets([0, 1, 2].map(partition => ({ topic: 'out', partition })), 'latest')
      const total = ends.reduce((sum, e) => sum + Number(e.offset), 0)
      t.equal(total, transactions * RECORDS_PER_TRANSACTION, 'records on out = transactions x records per transaction')
      reader.assign(ends.map(e => ({ topic: e.topic, partition: e.partition, offset: 0n })))
      const out: LogRecord[] = await pollUntil(ms => reader.poll(ms), total)
      const perTransaction = new Map<number, number>()
      for (const record of out) {
        const n = Number(record.value!.toString().split(':')[0])
        perTransaction.set(n, (perTransaction.get(n) ?? 0) + 1)
      }
      t.equal(perTransaction.size, transactions, 'one group of records per committed transaction')
      t.ok([...perTransaction.values()].every(count => count === RECORDS_PER_TRANSACTION), 'no partial transaction')
      t.ok([...perTransaction.keys()].every(n => n >= 1 && n <= transactions), 'no record of an uncommitted transaction')

      reader.assign([{ topic: 'changelog', partition: 0, offset: 0n }])
      reader.unassign(ends)
      const changelog = await pollUntil(ms => reader.poll(ms), transactions)
      t.equal(changelog.length, transactions, 'changelog holds one record per transaction')
      t.equal(changelog[changelog.length - 1]!.value!.toString(), String(transactions), 'its last value is the committed count')
      await reader.close()
    } finally {
      await log.close()
    }
  }
})
