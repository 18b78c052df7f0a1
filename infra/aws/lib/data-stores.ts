// The three stateful services, all in the VPC's isolated subnets, encrypted at rest and in
// transit, each behind its own security group that admits nothing until a role is allowed in:
//   MSK (provisioned; SASL/SCRAM over TLS, the mechanism both Kafka clients speak; provisioned
//        rather than Serverless for compacted changelogs, transactions and SCRAM),
//   RDS PostgreSQL (the archive; generated credentials in Secrets Manager),
//   ElastiCache Redis (TLS + AUTH token from Secrets Manager).
// The app is configured by URL (REWARDS_DATABASE_URL, REWARDS_REDIS_URL): each URL, password
// included, is a Secrets Manager secret composed by CloudFormation dynamic references, so the
// password never appears in the template, the task definition or a log.
import { CfnOutput, Duration, Fn, RemovalPolicy, SecretValue, Stack } from 'aws-cdk-lib'
import * as ec2 from 'aws-cdk-lib/aws-ec2'
import * as elasticache from 'aws-cdk-lib/aws-elasticache'
import type * as kms from 'aws-cdk-lib/aws-kms'
import * as logs from 'aws-cdk-lib/aws-logs'
import * as msk from 'aws-cdk-lib/aws-msk'
import * as rds from 'aws-cdk-lib/aws-rds'
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager'
import * as cr from 'aws-cdk-lib/custom-resources'
import { acknowledge } from './acknowledge.ts'
import { Construct } from 'constructs'
import type { RewardsEnvironment } from './environments.ts'

export const kafkaScramPort = 9096
export const postgresPort = 5432
export const redisPort = 6379

export interface DataStoresProps {
  config: RewardsEnvironment
  vpc: ec2.IVpc
  key: kms.IKey
}

export class DataStores extends Construct {
  readonly kafkaSecurityGroup: ec2.SecurityGroup
  readonly databaseSecurityGroup: ec2.SecurityGroup
  readonly redisSecurityGroup: ec2.SecurityGroup
  readonly kafkaClusterName: string
  readonly kafkaBootstrapBrokers: string
  /** JSON {username, password} of the app's SCRAM user. */
  readonly kafkaCredentials: secretsmanager.ISecret
  readonly databaseUrl: secretsmanager.ISecret
  readonly redisUrl: secretsmanager.ISecret
  readonly database: rds.DatabaseInstance

  constructor (scope: Construct, id: string, props: DataStoresProps) {
    super(scope, id)
    const { config, vpc, key } = props
    const isolated = vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED })
    const removalPolicy = config.protectData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY
    const securityGroup = (name: string, description: string) =>
      new ec2.SecurityGroup(this, name, { vpc, description, allowAllOutbound: false })

    // ---- MSK
    this.kafkaSecurityGroup = securityGroup('KafkaSecurityGroup', 'MSK brokers: SASL/SCRAM over TLS from the app roles only')
    this.kafkaClusterName = `rewards-${config.name}`
    const brokerLogs = new logs.LogGroup(this, 'KafkaBrokerLogs', { retention: config.logRetentionDays, removalPolicy })
    const replication = Math.min(3, config.kafka.brokerCount)
    const kafkaConfiguration = new msk.CfnConfiguration(this, 'KafkaConfiguration', {
      name: `rewards-${config.name}`,
      kafkaVersionsList: [config.kafka.version],
      serverProperties: [
        'auto.create.topics.enable=false',
        `default.replication.factor=${replication}`,
        `min.insync.replicas=${Math.max(1, replication - 1)}`,
        `transaction.state.log.replication.factor=${replication}`,
        `transaction.state.log.min.isr=${Math.max(1, replication - 1)}`,
        `offsets.topic.replication.factor=${replication}`,
        'unclean.leader.election.enable=false'
      ].join('\n')
    })
    const cluster = new msk.CfnCluster(this, 'Kafka', {
      clusterName: this.kafkaClusterName,
      kafkaVersion: config.kafka.version,
      numberOfBrokerNodes: config.kafka.brokerCount,
      brokerNodeGroupInfo: {
        instanceType: config.kafka.instanceType,
        clientSubnets: isolated.subnetIds,
        securityGroups: [this.kafkaSecurityGroup.securityGroupId],
        storageInfo: { ebsStorageInfo: { volumeSize: config.kafka.volumeGiB } }
      },
      clientAuthentication: { sasl: { scram: { enabled: true } }, unauthenticated: { enabled: false } },
      encryptionInfo: {
        encryptionAtRest: { dataVolumeKmsKeyId: key.keyArn },
        encryptionInTransit: { clientBroker: 'TLS', inCluster: true }
      },
      configurationInfo: { arn: kafkaConfiguration.attrArn, revision: 1 },
      // Per-topic metrics feed the DLQ-growth alarms; consumer-lag metrics come at every level.
      enhancedMonitoring: 'PER_TOPIC_PER_BROKER',
      loggingInfo: { brokerLogs: { cloudWatchLogs: { enabled: true, logGroup: brokerLogs.logGroupName } } }
    })
    cluster.applyRemovalPolicy(removalPolicy)

    // MSK reads SCRAM users from secrets named AmazonMSK_* encrypted with a customer-managed key.
    const kafkaCredentials = new secretsmanager.Secret(this, 'KafkaCredentials', {
      secretName: `AmazonMSK_rewards-${config.name}`,
      description: 'SCRAM user of the rewards app on MSK',
      encryptionKey: key,
      generateSecretString: { secretStringTemplate: JSON.stringify({ username: 'rewards' }), generateStringKey: 'password', excludePunctuation: true, passwordLength: 32 },
      removalPolicy
    })
    this.kafkaCredentials = kafkaCredentials as secretsmanager.ISecret
    new msk.CfnBatchScramSecret(this, 'KafkaScramUsers', { clusterArn: cluster.attrArn, secretArnList: [kafkaCredentials.secretArn] })

    // CloudFormation has no attribute for the bootstrap brokers: ask the MSK API once per change.
    const bootstrap = new cr.AwsCustomResource(this, 'KafkaBootstrapBrokers', {
      onUpdate: {
        service: 'Kafka',
        action: 'getBootstrapBrokers',
        parameters: { ClusterArn: cluster.attrArn },
        physicalResourceId: cr.PhysicalResourceId.of(`${this.kafkaClusterName}-bootstrap`),
        outputPaths: ['BootstrapBrokerStringSaslScram']
      },
      policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: [cluster.attrArn] }),
      installLatestAwsSdk: false
    })
    this.kafkaBootstrapBrokers = bootstrap.getResponseField('BootstrapBrokerStringSaslScram')
    // The function behind AwsCustomResource is a stack-level singleton, not a child of `bootstrap`.
    const customResourceFunction = Stack.of(this).node.tryFindChild('AWS' + cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, ''))
    if (customResourceFunction !== undefined) {
      acknowledge(customResourceFunction, [
        { id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', reason: 'The CDK-provided function behind AwsCustomResource only writes its own logs with this policy; CloudFormation invokes it at deploy time to read the bootstrap brokers, the app never does.' }
      ])
    }
    acknowledge(kafkaCredentials, [
      { id: 'AwsSolutions-SMG4', reason: 'MSK SCRAM credentials: rotation needs a coordinated restart of every client; rotate by updating the secret and rolling the services (docs/deploy.md).' }
    ])

    // ---- RDS PostgreSQL
    this.databaseSecurityGroup = securityGroup('DatabaseSecurityGroup', 'PostgreSQL archive: from the app roles that read or write it')
    const parameterGroup = new rds.ParameterGroup(this, 'DatabaseParameters', {
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_17 }),
      parameters: { 'rds.force_ssl': '1', log_min_duration_statement: '1000' }
    })
    this.database = new rds.DatabaseInstance(this, 'Database', {
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_17 }),
      instanceType: new ec2.InstanceType(config.database.instanceClass),
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [this.databaseSecurityGroup],
      credentials: rds.Credentials.fromGeneratedSecret('rewards', { encryptionKey: key }),
      databaseName: 'rewards',
      parameterGroup,
      multiAz: config.database.multiAz,
      storageEncrypted: true,
      storageEncryptionKey: key,
      allocatedStorage: config.database.allocatedStorageGiB,
      maxAllocatedStorage: config.database.maxAllocatedStorageGiB,
      storageType: rds.StorageType.GP3,
      backupRetention: Duration.days(config.database.backupRetentionDays),
      deletionProtection: config.protectData,
      removalPolicy: config.protectData ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
      publiclyAccessible: false,
      autoMinorVersionUpgrade: true,
      enablePerformanceInsights: true,
      performanceInsightEncryptionKey: key,
      cloudwatchLogsExports: ['postgresql', 'upgrade'],
      monitoringInterval: Duration.seconds(60)
    })
    const dbSecret = this.database.secret
    if (dbSecret === undefined) throw new Error('the database has generated credentials')
    const dbPassword = dbSecret.secretValueFromJson('password').toString()
    // The generated password excludes URL-reserved characters (the RDS default exclusion list).
    // `unsafePlainText` only in name: the value holds a {{resolve:secretsmanager:…}} dynamic
    // reference, which CloudFormation resolves at deploy time; the template never has the password.
    const databaseUrl = new secretsmanager.Secret(this, 'DatabaseUrl', {
      description: 'REWARDS_DATABASE_URL of the rewards app (TLS, verified against the RDS CA)',
      encryptionKey: key,
      secretStringValue: SecretValue.unsafePlainText(Fn.join('', [
        'postgres://rewards:', dbPassword, '@', this.database.dbInstanceEndpointAddress, ':',
        this.database.dbInstanceEndpointPort, '/rewards?sslmode=verify-full'
      ])),
      removalPolicy: RemovalPolicy.DESTROY
    })
    acknowledge(this.database, [
      { id: 'AwsSolutions-SMG4', reason: 'REWARDS_DATABASE_URL is composed from this password at deploy time; rotating it means redeploying the stack and rolling the services (docs/deploy.md), which single-user rotation would not do.' }
    ])
    this.databaseUrl = databaseUrl as secretsmanager.ISecret
    acknowledge(databaseUrl, [
      { id: 'AwsSolutions-SMG4', reason: 'Derived secret: regenerated from the database secret on every deploy, not rotated on its own.' }
    ])
    acknowledge(this.database, [
      { id: 'AwsSolutions-RDS11', reason: 'The default PostgreSQL port: the instance is only reachable inside isolated subnets from the app security groups, so a non-default port adds no protection.' },
      { id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]', reason: 'AmazonRDSEnhancedMonitoringRole is the AWS-managed policy the RDS enhanced-monitoring role is designed to carry (it only publishes OS metrics to CloudWatch Logs).' },
      ...(config.protectData ? [] : [{ id: 'AwsSolutions-RDS10', reason: `Deletion protection off in ${config.name} only, so a development stack can be torn down; staging and prod have it.` }]),
      ...(config.database.multiAz ? [] : [{ id: 'AwsSolutions-RDS3', reason: `Single-AZ in ${config.name} only, to keep a development stack cheap; staging and prod are Multi-AZ.` }])
    ], )

    // ---- ElastiCache Redis
    this.redisSecurityGroup = securityGroup('RedisSecurityGroup', 'Redis cache: from the API and auth roles')
    const redisToken = new secretsmanager.Secret(this, 'RedisAuthToken', {
      description: 'AUTH token of the rewards Redis replication group',
      encryptionKey: key,
      generateSecretString: { excludePunctuation: true, passwordLength: 64 },
      removalPolicy: RemovalPolicy.DESTROY
    })
    const subnetGroup = new elasticache.CfnSubnetGroup(this, 'RedisSubnets', {
      description: 'Isolated subnets of the rewards Redis',
      subnetIds: isolated.subnetIds
    })
    const replicated = config.redis.replicas > 0
    const redis = new elasticache.CfnReplicationGroup(this, 'Redis', {
      replicationGroupDescription: `rewards ${config.name} cache`,
      engine: 'redis',
      engineVersion: '7.1',
      cacheNodeType: config.redis.nodeType,
      numCacheClusters: 1 + config.redis.replicas,
      automaticFailoverEnabled: replicated,
      multiAzEnabled: replicated,
      cacheSubnetGroupName: subnetGroup.ref,
      securityGroupIds: [this.redisSecurityGroup.securityGroupId],
      port: redisPort,
      transitEncryptionEnabled: true,
      atRestEncryptionEnabled: true,
      kmsKeyId: key.keyArn,
      // A dynamic reference to the secret, not the token itself.
      authToken: redisToken.secretValue.unsafeUnwrap(),
      snapshotRetentionLimit: config.protectData ? 7 : 0,
      autoMinorVersionUpgrade: true
    })
    // As for the database URL: the token enters only as a dynamic reference.
    const redisUrl = new secretsmanager.Secret(this, 'RedisUrl', {
      description: 'REWARDS_REDIS_URL of the rewards app (rediss: TLS + AUTH)',
      encryptionKey: key,
      secretStringValue: SecretValue.unsafePlainText(Fn.join('', [
        'rediss://:', redisToken.secretValue.toString(), '@', redis.attrPrimaryEndPointAddress, ':', redis.attrPrimaryEndPointPort
      ])),
      removalPolicy: RemovalPolicy.DESTROY
    })
    this.redisUrl = redisUrl as secretsmanager.ISecret
    acknowledge([redisToken, redisUrl], [
      { id: 'AwsSolutions-SMG4', reason: 'The Redis AUTH token is set on the replication group by CloudFormation; rotating it is a stack update followed by a rolling restart (docs/deploy.md).' }
    ])
    acknowledge(redis, [
      { id: 'AwsSolutions-AEC5', reason: 'The default Redis port: reachable only inside isolated subnets from the app security groups.' },
      ...(replicated ? [] : [{ id: 'AwsSolutions-AEC4', reason: `No replica in ${config.name}: a cache that the platform works without (slower) when it is down.` }])
    ])

    new CfnOutput(this, 'KafkaClusterArn', { value: cluster.attrArn })
    new CfnOutput(this, 'DatabaseEndpoint', { value: this.database.dbInstanceEndpointAddress })
  }
}
