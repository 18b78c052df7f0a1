// The Kafka Streams reference of the rewards topology (bench/java/rewards-streams): its runnable
// jar, built with Maven when missing or older than its sources (`mvn -q -B package`; the first
// build downloads the dependencies into ~/.m2).
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fmtMs, nowMs } from './timing.ts'

export const KAFKA_STREAMS_PROJECT = fileURLToPath(new URL('../java/rewards-streams/', import.meta.url))
export const KAFKA_STREAMS_JAR = join(KAFKA_STREAMS_PROJECT, 'target', 'rewards-streams.jar')

function newestSourceMs (dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestSourceMs(path) : statSync(path).mtimeMs)
  }
  return newest
}

/** Builds the jar unless it is newer than pom.xml and every source file. Returns what it did. */
export function ensureKafkaStreamsJar (): string {
  const sourcesMs = Math.max(statSync(join(KAFKA_STREAMS_PROJECT, 'pom.xml')).mtimeMs, newestSourceMs(join(KAFKA_STREAMS_PROJECT, 'src')))
  if (existsSync(KAFKA_STREAMS_JAR) && statSync(KAFKA_STREAMS_JAR).mtimeMs >= sourcesMs) return 'Kafka Streams jar up to date'
  const t0 = nowMs()
  const built = spawnSync('mvn', ['-q', '-B', 'package'], { cwd: KAFKA_STREAMS_PROJECT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  if (built.error !== undefined) throw new Error(`mvn could not run (is Maven installed?): ${built.error.message}`)
  if (built.status !== 0) throw new Error(`mvn -q -B package failed (exit ${built.status}):\n${built.stdout}${built.stderr}`)
  return `built the Kafka Streams jar with mvn -q -B package in ${fmtMs(nowMs() - t0)}`
}
