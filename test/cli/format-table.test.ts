// cli/format-table.ts (cli-table3, borderless): the columns the CLI's tables print.
import t from 'tap'
import { formatTable } from '../../cli/format-table.ts'

t.test('headers, then rows; numbers right-aligned, text left-aligned; no trailing spaces', async t => {
  const text = formatTable(['GROUP', 'PARTITION', 'LAG'], [['rewards', 0, 12n], ['rewards-archiver', 11, '-']])
  t.equal(text, [
    'GROUP             PARTITION  LAG',
    'rewards                   0   12',
    'rewards-archiver         11    -'
  ].join('\n'))
})

t.test('no rows: the headers alone', async t => {
  t.equal(formatTable(['CLIENT ID', 'NAME'], []), 'CLIENT ID  NAME')
})

t.test('wide cells are not cut (secrets are masked before, never by the table)', async t => {
  const url = 'postgres://app:***@db.internal.example:5432/rewards?sslmode=verify-full'
  t.match(formatTable(['VARIABLE', 'VALUE'], [['REWARDS_DATABASE_URL', url]]), url)
})
