// The notifications role's configuration on AWS: the partner webhooks file and the signing secrets.
//   - The file (which endpoints get which records: no secret in it) is infra/aws/notifications/<env>.json,
//     reviewed and versioned with the stack (or `-c notificationsFile=<path>`). Synth validates it with
//     the app's own schema, so a bad file fails `cdk synth`, not a deployed task. ECS has no config
//     files: a short-lived container of the task writes it from the task definition onto a task
//     volume, which the app container mounts read-only (services.ts).
//   - Each endpoint's signing secret is a Secrets Manager secret the stack generates (one per
//     `secretEnv`), injected into the app container under that name. Share it with the partner, or
//     put the partner's value in it and roll the service (docs/deploy.md).
import { RemovalPolicy } from 'aws-cdk-lib'
import type * as kms from 'aws-cdk-lib/aws-kms'
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager'
import { Construct } from 'constructs'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseNotificationsConfig } from '../../../lib/notifications-config.ts'
import { acknowledge } from './acknowledge.ts'
import type { EnvironmentName, RewardsEnvironment } from './environments.ts'

/** Where the notifications file is mounted in the app container (REWARDS_NOTIFICATIONS_FILE). */
export const notificationsDir = '/etc/rewards/notifications'
export const notificationsFile = `${notificationsDir}/notifications.json`

export interface NotificationsSettings {
  /** The file's JSON, compact: what the task writes to `notificationsFile`. */
  readonly json: string
  /** Endpoint ids, in file order. */
  readonly endpointIds: readonly string[]
  /** The environment variables holding the signing secrets (`secretEnv`), each once. */
  readonly secretEnvs: readonly string[]
}

export function defaultNotificationsFile (env: EnvironmentName): string {
  return join(import.meta.dirname, '..', 'notifications', `${env}.json`)
}

/** Reads and validates a notifications file; throws naming the file and the field. */
export function readNotificationsFile (path: string): NotificationsSettings {
  let json: unknown
  try {
    json = JSON.parse(readFileSync(path, 'utf8'))
  } catch (cause) {
    throw new Error(`notifications file ${path}: ${(cause as Error).message}`, { cause })
  }
  // The secrets are not known at synth time: stand-ins of an acceptable length let the app's
  // validation check everything else.
  const named = (json as { endpoints?: Array<{ secretEnv?: unknown }> } | null)?.endpoints
  const standIns = Object.fromEntries((Array.isArray(named) ? named : [])
    .filter(e => typeof e?.secretEnv === 'string').map(e => [e.secretEnv as string, 'x'.repeat(32)]))
  const config = parseNotificationsConfig(json, path, standIns)
  return {
    json: JSON.stringify(json),
    endpointIds: config.endpoints.map(e => e.id),
    secretEnvs: [...new Set(config.endpoints.map(e => e.secretEnv))]
  }
}

export interface WebhookSecretsProps {
  config: RewardsEnvironment
  key: kms.IKey
  settings: NotificationsSettings
}

/** One generated Secrets Manager secret per `secretEnv` of the notifications file. */
export class WebhookSecrets extends Construct {
  readonly secrets: Readonly<Record<string, secretsmanager.ISecret>>

  constructor (scope: Construct, id: string, props: WebhookSecretsProps) {
    super(scope, id)
    const { config, key, settings } = props
    const secrets: Record<string, secretsmanager.ISecret> = {}
    for (const name of settings.secretEnvs) {
      const secret = new secretsmanager.Secret(this, name, {
        secretName: `rewards-${config.name}/webhooks/${name}`,
        description: `${name}: HMAC-SHA256 signing secret of a partner webhook of the rewards notifications role`,
        encryptionKey: key,
        generateSecretString: { excludePunctuation: true, passwordLength: 64 },
        // The partner holds the same value: keep it where data is protected.
        removalPolicy: config.protectData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY
      })
      acknowledge(secret, [
        { id: 'AwsSolutions-SMG4', reason: 'A webhook signing secret is shared with the partner, who verifies with it: rotation is coordinated with them (new value, then a rolling restart of the notifications service, docs/deploy.md), not automatic.' }
      ])
      secrets[name] = secret as secretsmanager.ISecret
    }
    this.secrets = secrets
  }
}
