// One environment (dev, staging or prod) of the rewards platform: network, data stores, the five
// roles on ECS Fargate, alarms. No look-ups: the region comes from the app context, the account
// from the credentials at deploy time, so `cdk synth` needs no AWS access.
import { Stack, Tags } from 'aws-cdk-lib'
import type { StackProps } from 'aws-cdk-lib'
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch'
import * as ec2 from 'aws-cdk-lib/aws-ec2'
import * as ecr from 'aws-cdk-lib/aws-ecr'
import * as iam from 'aws-cdk-lib/aws-iam'
import * as kms from 'aws-cdk-lib/aws-kms'
import * as logs from 'aws-cdk-lib/aws-logs'
import type { Construct } from 'constructs'
import { Alarms, consumerLagMetric } from './alarms.ts'
import { DataStores } from './data-stores.ts'
import type { RewardsEnvironment } from './environments.ts'
import { readNotificationsFile, WebhookSecrets } from './notifications.ts'
import { repositoryName } from './registry-stack.ts'
import { Services } from './services.ts'

export interface RewardsStackProps extends StackProps {
  config: RewardsEnvironment
  /** Image tag in the `rewards` ECR repository (the git commit SHA CI pushed). */
  imageTag: string
  certificateArn?: string | undefined
  /** The notifications role's webhooks file (JSON, validated at synth). */
  notificationsFile: string
}

export class RewardsStack extends Stack {
  readonly vpc: ec2.Vpc
  readonly data: DataStores
  readonly services: Services
  readonly alarms: Alarms

  constructor (scope: Construct, id: string, props: RewardsStackProps) {
    super(scope, id, props)
    const { config } = props
    if (config.name !== 'dev' && props.certificateArn === undefined) {
      throw new Error(`${config.name} serves the API over HTTPS only: pass -c certificateArn=<ACM certificate ARN>`)
    }
    Tags.of(this).add('app', 'rewards')
    Tags.of(this).add('environment', config.name)

    const key = new kms.Key(this, 'DataKey', { description: `rewards ${config.name}: MSK, RDS, ElastiCache, secrets, alarms`, enableKeyRotation: true })
    // Alarms publish to the SNS topic encrypted with this key.
    key.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*')

    this.vpc = new ec2.Vpc(this, 'Network', {
      maxAzs: 2,
      natGateways: config.natGateways,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'app', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
        { name: 'data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }
      ],
      restrictDefaultSecurityGroup: true
    })
    this.vpc.addFlowLog('FlowLogs', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(new logs.LogGroup(this, 'FlowLogGroup', { retention: config.logRetentionDays }))
    })

    this.data = new DataStores(this, 'Data', { config, vpc: this.vpc as ec2.IVpc, key })
    const lag = new cloudwatch.MathExpression({
      expression: 'MAX([rewards, redeem])',
      usingMetrics: {
        rewards: consumerLagMetric(this.data.kafkaClusterName, 'reward-events'),
        redeem: consumerLagMetric(this.data.kafkaClusterName, 'redeem-events')
      }
    })
    const notifications = readNotificationsFile(props.notificationsFile)
    const webhookSecrets = new WebhookSecrets(this, 'Webhooks', { config, key, settings: notifications })
    this.services = new Services(this, 'App', {
      config,
      vpc: this.vpc as ec2.IVpc,
      data: this.data,
      repository: ecr.Repository.fromRepositoryName(this, 'Images', repositoryName),
      imageTag: props.imageTag,
      certificateArn: props.certificateArn,
      lagMetric: lag,
      notifications: { settings: notifications, secrets: webhookSecrets.secrets }
    })
    this.alarms = new Alarms(this, 'Alarms', { config, key, data: this.data, services: this.services })
  }
}
