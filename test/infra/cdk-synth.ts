// Synthesizes the CDK app of infra/aws for one environment, in-process and offline, with cdk-nag's
// AwsSolutions checks as a policy-validation plugin (synth throws on any unacknowledged finding).
import { App, Validations } from 'aws-cdk-lib'
import { Template } from 'aws-cdk-lib/assertions'
import { AwsSolutionsChecks } from 'cdk-nag'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildApp } from '../../infra/aws/lib/build-app.ts'
import type { AppContext } from '../../infra/aws/lib/build-app.ts'

export const dummyCertificate = 'arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000000'

export interface Synthesized {
  rewards: Template
  registry: Template
  /** The raw template of the environment stack, for checks across resources. */
  resources: Record<string, { Type: string, Properties?: Record<string, unknown>, DependsOn?: unknown }>
}

export function synthesize (context: Partial<AppContext> & { env: string }): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), 'rewards-cdk-'))
  try {
    const app = new App({ outdir })
    const { registry, rewards } = buildApp(app, { imageTag: 'test-sha', ...context })
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app))
    const assembly = app.synth()
    const template = assembly.getStackByName(rewards.stackName).template as { Resources: Synthesized['resources'] }
    return {
      rewards: Template.fromJSON(template),
      registry: Template.fromJSON(assembly.getStackByName(registry.stackName).template as Record<string, unknown>),
      resources: template.Resources
    }
  } finally {
    rmSync(outdir, { recursive: true, force: true })
  }
}
