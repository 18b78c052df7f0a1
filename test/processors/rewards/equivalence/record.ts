// Records what the rewards topology writes for the equivalence scenarios into
// recorded-outputs.txt.gz, which dsl-equivalence.test.ts compares with. Run it only when an
// output is meant to change (and say why in the commit):
//   node_modules/.bin/node test/processors/rewards/equivalence/record.ts
import { writeFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { buildRewardsTopology } from '../../../../processors/rewards/index.ts'
import { recordOutputs } from './recorded-outputs.ts'
import { RECORDED_OUTPUTS_FILE, scenarios } from './scenarios.ts'

const lines: string[] = []
for (const scenario of scenarios()) {
  lines.push(...await recordOutputs(scenario, buildRewardsTopology({ ...scenario.options, storeKind: 'in-memory' })))
}
writeFileSync(RECORDED_OUTPUTS_FILE, gzipSync(lines.join('\n') + '\n', { level: 9 }))
console.log(`${lines.length} lines written to ${RECORDED_OUTPUTS_FILE}`)
