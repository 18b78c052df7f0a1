// Tables for terminal output (lag, topics, clients, config, report), through cli-table3:
// borderless columns two spaces apart, headers first, numbers right-aligned, text left-aligned.
import Table from 'cli-table3'

const BORDERLESS = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
  bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
  left: '', 'left-mid': '', mid: '', 'mid-mid': '',
  right: '', 'right-mid': '', middle: '  '
}

export function formatTable (headers: string[], rows: Array<Array<string | number | bigint>>): string {
  const cells = rows.map(row => row.map(c => String(c)))
  // A column is numeric when every value is an integer (or '-' for none).
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every(r => typeof r[i] !== 'string' || /^-?\d+$/.test(r[i] as string) || r[i] === '-'))
  const table = new Table({
    head: headers,
    chars: BORDERLESS,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0, compact: true },
    colAligns: numeric.map(n => (n ? 'right' : 'left'))
  })
  table.push(...cells)
  return table.toString().split('\n').map(line => line.trimEnd()).join('\n')
}
