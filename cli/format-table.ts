// Plain-text tables for terminal output: left-aligned text, right-aligned numbers.

export function formatTable (headers: string[], rows: Array<Array<string | number | bigint>>): string {
  const cells = rows.map(row => row.map(c => String(c)))
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every(r => typeof r[i] !== 'string' || /^-?\d+$/.test(r[i] as string) || r[i] === '-'))
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map(r => (r[i] ?? '').length)))
  const line = (row: string[]): string => row.map((c, i) => (numeric[i] === true ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd()
  return [line(headers), ...cells.map(line)].join('\n')
}
