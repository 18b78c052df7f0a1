// Builds the stacks of one CDK app from its context; shared by bin/app.ts and the tests.
import type { App } from 'aws-cdk-lib'
import { environmentNamed } from './environments.ts'
import { defaultNotificationsFile } from './notifications.ts'
import { RegistryStack } from './registry-stack.ts'
import { RewardsStack } from './rewards-stack.ts'

export const defaultRegion = 'eu-west-1'

export interface AppContext {
  env: string | undefined
  imageTag: string | undefined
  certificateArn?: string | undefined
  githubRepository?: string | undefined
  /** AWS region; the account always comes from the deploy credentials. */
  region?: string | undefined
  /** The notifications role's webhooks file; default infra/aws/notifications/<env>.json. */
  notificationsFile?: string | undefined
}

export function buildApp (app: App, context: AppContext): { registry: RegistryStack, rewards: RewardsStack } {
  const config = environmentNamed(context.env)
  if (context.imageTag === undefined || context.imageTag === '') {
    throw new Error('pass -c imageTag=<tag of an image in the rewards ECR repository> (CI uses the commit SHA)')
  }
  // Region only (the load balancer's access-log bucket policy depends on it); no account, so no
  // look-ups: availability zones resolve at deploy time (Fn::GetAZs, the first two).
  const env = { region: context.region ?? defaultRegion }
  const registry = new RegistryStack(app, 'RewardsRegistry', {
    env,
    description: 'rewards: image repository and CI deploy role (one per account)',
    githubRepository: context.githubRepository ?? 'example-org/rewards-streams'
  })
  const rewards = new RewardsStack(app, `Rewards-${config.name}`, {
    env,
    description: `rewards platform, ${config.name} environment`,
    config,
    imageTag: context.imageTag,
    certificateArn: context.certificateArn,
    notificationsFile: context.notificationsFile ?? defaultNotificationsFile(config.name),
    terminationProtection: config.protectData
  })
  return { registry, rewards }
}
