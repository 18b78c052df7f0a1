// Prints the last line of a run ("N passed, N failed") preceded, when something failed, by every
// failing test with the subtests that enclose it and the first lines of its diagnostics. CI shows
// only the tail of the output, so the names of the failures must be there, not 10,000 lines up.
import { existsSync, readFileSync } from 'node:fs'
import { platformLogsFile } from './cli/cli-helpers.ts'

const file = process.argv[2] ?? '.tap/last-run.tap'
const lines = readFileSync(file, 'utf8').split('\n')
const indentOf = (line: string): number => line.length - line.trimStart().length

const failures: string[] = []
const failedFiles: string[] = []
const enclosing: Array<{ indent: number, name: string }> = []
for (let i = 0; i < lines.length; i++) {
  const line = lines[i] ?? ''
  const indent = indentOf(line)
  const subtest = /^\s*# Subtest: (.*)$/.exec(line)
  if (subtest) {
    while (enclosing.length > 0 && (enclosing.at(-1)?.indent ?? 0) >= indent) enclosing.pop()
    enclosing.push({ indent, name: subtest[1] ?? '' })
    continue
  }
  if (!/^\s*not ok \d+/.test(line)) continue
  const path = enclosing.filter((s) => s.indent < indent).map((s) => s.name)
  const file = /^not ok \d+ - (test\/\S+\.test\.ts)/.exec(line)
  if (file?.[1] !== undefined) failedFiles.push(file[1])
  failures.push(`${'  '.repeat(path.length)}${line.trim()}${path.length > 0 ? `   [in: ${path.join(' > ')}]` : ''}`)
  // The YAML block after a failing assertion says what was expected and where.
  if (lines[i + 1]?.trim() === '---') {
    let shown = 0
    for (let j = i + 2; j < lines.length && lines[j]?.trim() !== '...' && shown < 10; j++, shown++) {
      failures.push(`${'  '.repeat(path.length)}    ${lines[j]?.trim()}`)
    }
  }
}

// test/run.sh runs the suite as several tap runs (test/suite-files.ts) into one file: each ends with
// its own "# { total: …, pass: … }" line, and the counts are their sums.
const counts: Record<string, number> = {}
for (const m of lines.join('\n').matchAll(/^# \{ (.*) \}$/gm)) {
  for (const kv of (m[1] ?? '').split(', ').filter(Boolean)) {
    const [k, v] = kv.split(': ')
    if (k !== undefined && Number.isFinite(Number(v))) counts[k] = (counts[k] ?? 0) + Number(v)
  }
}
if (failures.length > 0) {
  console.log('\n# Failures (each failing test, with the subtests around it):')
  for (const f of failures.slice(0, 300)) console.log(f)
  if (failures.length > 300) console.log(`… ${failures.length - 300} more lines in ${file}`)
  // The end of the log of each `rewards` process a failing file ran (test/cli/cli-helpers.ts).
  for (const failed of failedFiles) {
    const logs = platformLogsFile(failed)
    if (!existsSync(logs)) continue
    console.log(`\n# ${failed}: the platform's log`)
    for (const l of readFileSync(logs, 'utf8').split('\n')) console.log(l.length > 400 ? `${l.slice(0, 400)}…` : l)
  }
}
console.log(`${counts.pass ?? 0} passed, ${counts.fail ?? 0} failed` + (counts.skip ? `, ${counts.skip} skipped` : ''))
