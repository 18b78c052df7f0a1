// A small reader for the project's Dockerfile and .dockerignore, for the infra tests: instructions
// grouped by build stage (continuation lines joined, comments dropped), and a build-context copier
// that applies .dockerignore the way Docker does for the simple patterns this project uses.
import { cpSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, matchesGlob, relative } from 'node:path'

export interface Instruction { keyword: string, args: string, line: number }
export interface Stage { name: string, from: string, instructions: Instruction[] }

export const repoRoot = join(import.meta.dirname, '..', '..')
export const dockerfilePath = join(repoRoot, 'infra', 'container', 'Dockerfile')

export function parseDockerfile (text: string): { globalArgs: Instruction[], stages: Stage[] } {
  const instructions: Instruction[] = []
  let pending = ''
  let startLine = 0
  text.split('\n').forEach((raw, index) => {
    const line = raw.trimEnd()
    if (pending === '' && (line.trim() === '' || line.trimStart().startsWith('#'))) return
    if (pending !== '' && line.trimStart().startsWith('#')) return
    if (pending === '') startLine = index + 1
    if (line.endsWith('\\')) { pending += line.slice(0, -1) + ' '; return }
    const full = (pending + line).trim()
    pending = ''
    const space = full.search(/\s/)
    instructions.push({ keyword: full.slice(0, space).toUpperCase(), args: full.slice(space + 1).trim(), line: startLine })
  })
  const globalArgs: Instruction[] = []
  const stages: Stage[] = []
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [from = '', , name = String(stages.length)] = instruction.args.split(/\s+/)
      stages.push({ name, from, instructions: [] })
    } else if (stages.length === 0) {
      globalArgs.push(instruction)
    } else {
      stages.at(-1)?.instructions.push(instruction)
    }
  }
  return { globalArgs, stages }
}

export function readDockerignore (): string[] {
  return readFileSync(join(repoRoot, '.dockerignore'), 'utf8').split('\n')
    .map(line => line.trim()).filter(line => line !== '' && !line.startsWith('#'))
}

/** Whether Docker leaves `path` (relative, forward slashes) out of the build context. */
export function isIgnored (path: string, patterns: string[]): boolean {
  let ignored = false
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!')
    const glob = negated ? pattern.slice(1) : pattern
    // A pattern also covers everything under a matching folder, as in Docker.
    const parts = path.split('/')
    const matches = parts.some((_, i) => matchesGlob(parts.slice(0, i + 1).join('/'), glob))
    if (matches) ignored = !negated
  }
  return ignored
}

/** Copies the Docker build context of the working tree into `target` (node_modules never comes). */
export function copyBuildContext (target: string, patterns = readDockerignore()): string[] {
  const copied: string[] = []
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const absolute = join(dir, entry.name)
      const rel = relative(repoRoot, absolute)
      if (entry.isDirectory()) {
        if (entry.name === 'node_modules' || rel === '.git') continue
        // An ignored folder is skipped whole unless an exception (!pattern) reaches inside it.
        const reopened = patterns.some(p => p.startsWith('!') && p.slice(1).startsWith(`${rel}/`))
        if (isIgnored(rel, patterns) && !reopened) continue
        walk(absolute)
      } else if (!isIgnored(rel, patterns)) {
        mkdirSync(join(target, dirname(rel)), { recursive: true })
        cpSync(absolute, join(target, rel))
        copied.push(rel)
      }
    }
  }
  walk(repoRoot)
  return copied
}
