// The app on ECS Fargate: one task definition and service per role, all from the one image, the
// role chosen by the container command. Each role gets only the network paths and secrets it uses:
//   role       Kafka  PostgreSQL  Redis  inbound 8080 from
//   processor  yes    -           -      api + other processors (interactive-query forwarding)
//   api        yes    yes         yes    load balancer
//   archiver   yes    yes         -      -
//   auth       -      yes         yes    load balancer (/oauth/*, /.well-known/*)
//   notifications yes -           -      -   (and HTTPS out to the partner webhooks)
// Configuration is only the REWARDS_* environment of docs/contract.md "Configuration" plus secrets injected by ECS; the
// notifications role also gets its webhooks file and the partners' signing secrets (notifications.ts).
import { CfnOutput, Duration, RemovalPolicy, Size } from 'aws-cdk-lib'
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling'
import * as ec2 from 'aws-cdk-lib/aws-ec2'
import type * as ecr from 'aws-cdk-lib/aws-ecr'
import * as ecs from 'aws-cdk-lib/aws-ecs'
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2'
import * as logs from 'aws-cdk-lib/aws-logs'
import * as s3 from 'aws-cdk-lib/aws-s3'
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch'
import { acknowledge } from './acknowledge.ts'
import { Construct } from 'constructs'
import { kafkaScramPort, postgresPort, redisPort } from './data-stores.ts'
import type { DataStores } from './data-stores.ts'
import type { RewardsEnvironment, Role } from './environments.ts'
import { notificationsDir, notificationsFile } from './notifications.ts'
import type { NotificationsSettings } from './notifications.ts'
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager'

export const httpPort = 8080
export const metricsPort = 9464
export const stateDir = '/var/lib/rewards'
export const applicationId = 'rewards'
export const roles: readonly Role[] = ['processor', 'api', 'archiver', 'auth', 'notifications']

const needs: Record<Role, { kafka: boolean, database: boolean, redis: boolean }> = {
  processor: { kafka: true, database: false, redis: false },
  api: { kafka: true, database: true, redis: true },
  archiver: { kafka: true, database: true, redis: false },
  auth: { kafka: false, database: true, redis: true },
  notifications: { kafka: true, database: false, redis: false }
}

/** Writes the environment variable named by argv[1] to the path argv[2] (read-only), after checking
 *  it is JSON: the notifications task's first container, since ECS has no config files. */
export const writeFileFromEnvScript = [
  "const [name, path] = process.argv.slice(1)",
  "const text = process.env[name] ?? ''",
  "JSON.parse(text)",
  "process.getBuiltinModule('node:fs').writeFileSync(path, text, { mode: 0o444 })",
  "console.log('wrote ' + path + ' (' + Buffer.byteLength(text) + ' bytes)')"
  // No `${…}` in it: CloudFormation would take that for a parameter reference.
].join('; ')

export interface ServicesProps {
  config: RewardsEnvironment
  vpc: ec2.IVpc
  data: DataStores
  repository: ecr.IRepository
  imageTag: string
  /** ACM certificate for the HTTPS listener; required outside dev. */
  certificateArn: string | undefined
  /** Consumer lag of the processor's group, for step scaling. */
  lagMetric: cloudwatch.IMetric
  /** The notifications role's webhooks file and the signing secrets it names. */
  notifications: { settings: NotificationsSettings, secrets: Readonly<Record<string, secretsmanager.ISecret>> }
}

export class Services extends Construct {
  readonly cluster: ecs.Cluster
  readonly services = {} as Record<Role, ecs.FargateService>
  readonly logGroups = {} as Record<Role, logs.LogGroup>
  readonly securityGroups = {} as Record<Role, ec2.SecurityGroup>
  readonly loadBalancer: elbv2.ApplicationLoadBalancer
  readonly apiTargets: elbv2.ApplicationTargetGroup

  constructor (scope: Construct, id: string, props: ServicesProps) {
    super(scope, id)
    const { config, vpc, data } = props
    this.cluster = new ecs.Cluster(this, 'Cluster', { vpc, containerInsightsV2: ecs.ContainerInsights.ENHANCED })

    for (const role of roles) {
      const securityGroup = new ec2.SecurityGroup(this, `${title(role)}SecurityGroup`, { vpc, description: `rewards ${role} tasks`, allowAllOutbound: false })
      // AWS APIs (ECR, Secrets Manager, CloudWatch Logs), an external IdP's JWKS and, for the
      // notifications role, the partners' webhooks: all through NAT.
      securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), role === 'notifications' ? 'HTTPS to AWS APIs and partner webhooks' : 'HTTPS to AWS APIs')
      if (needs[role].kafka) securityGroup.connections.allowTo(data.kafkaSecurityGroup, ec2.Port.tcp(kafkaScramPort), `${role} to MSK (SASL/SCRAM, TLS)`)
      if (needs[role].database) securityGroup.connections.allowTo(data.databaseSecurityGroup, ec2.Port.tcp(postgresPort), `${role} to PostgreSQL`)
      if (needs[role].redis) securityGroup.connections.allowTo(data.redisSecurityGroup, ec2.Port.tcp(redisPort), `${role} to Redis`)
      this.securityGroups[role] = securityGroup
    }
    const sg = this.securityGroups
    sg.processor.connections.allowFrom(sg.api, ec2.Port.tcp(httpPort), 'interactive queries forwarded by the API')
    sg.processor.connections.allowFrom(sg.processor, ec2.Port.tcp(httpPort), 'interactive queries forwarded between processors')

    for (const role of roles) this.addRole(role, props)

    // ---- public entry: an internet-facing ALB in the public subnets, targets in private ones
    const albSecurityGroup = new ec2.SecurityGroup(this, 'LoadBalancerSecurityGroup', { vpc, description: 'rewards public API load balancer', allowAllOutbound: false })
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc,
      internetFacing: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroup: albSecurityGroup,
      dropInvalidHeaderFields: true,
      deletionProtection: config.protectData
    })
    const accessLogs = new s3.Bucket(this, 'LoadBalancerLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      lifecycleRules: [{ expiration: Duration.days(config.logRetentionDays) }],
      removalPolicy: config.protectData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      autoDeleteObjects: false
    })
    acknowledge(accessLogs, [
      { id: 'AwsSolutions-S1', reason: 'This bucket only receives the load balancer access logs; logging access to a log bucket would recurse.' }
    ])
    this.loadBalancer.logAccessLogs(accessLogs as s3.IBucket, 'alb')

    const targets = (name: string, role: Role) => new elbv2.ApplicationTargetGroup(this, name, {
      vpc,
      port: httpPort,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.IP,
      targets: [this.services[role]],
      // Traffic only to tasks whose stores are restored and partitions assigned.
      healthCheck: { path: '/health/ready', healthyHttpCodes: '200', interval: Duration.seconds(10), timeout: Duration.seconds(5), healthyThresholdCount: 2, unhealthyThresholdCount: 3 },
      // Shorter than the task's stop timeout, so draining ends before SIGKILL.
      deregistrationDelay: Duration.seconds(20)
    })
    this.apiTargets = targets('ApiTargets', 'api')
    const authTargets = targets('AuthTargets', 'auth')

    const listener = props.certificateArn === undefined
      ? this.loadBalancer.addListener('Http', { port: 80, open: false, defaultTargetGroups: [this.apiTargets] })
      : this.loadBalancer.addListener('Https', {
        port: 443,
        open: false,
        certificates: [elbv2.ListenerCertificate.fromArn(props.certificateArn)],
        sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
        defaultTargetGroups: [this.apiTargets]
      })
    albSecurityGroup.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(listener.port), 'public API')
    if (props.certificateArn !== undefined) {
      // Opens port 80 on the load balancer's security group, for the redirect only.
      this.loadBalancer.addRedirect({ sourcePort: 80, targetPort: 443 })
    }
    for (const role of ['api', 'auth'] as const) {
      albSecurityGroup.connections.allowTo(sg[role], ec2.Port.tcp(httpPort), `load balancer to ${role}`)
    }
    // Metrics are for the operators' scraper inside the VPC, never the public listener (docs/contract.md "Configuration").
    listener.addAction('HideMetrics', {
      priority: 1,
      conditions: [elbv2.ListenerCondition.pathPatterns(['/metrics', '/metrics/*'])],
      action: elbv2.ListenerAction.fixedResponse(404, { contentType: 'application/json', messageBody: '{"code":"NOT_FOUND"}' })
    })
    listener.addTargetGroups('Auth', {
      priority: 10,
      conditions: [elbv2.ListenerCondition.pathPatterns(['/oauth/*', '/.well-known/*'])],
      targetGroups: [authTargets]
    })
    acknowledge(albSecurityGroup, [
      { id: 'AwsSolutions-EC23', reason: 'The public API: guest apps and property systems reach it from the internet; only the listener ports are open.' }
    ])

    // ---- autoscaling
    const scale = (role: Role, max: number) => this.services[role].autoScaleTaskCount({ minCapacity: config.services[role].minTasks, maxCapacity: max })
    const api = scale('api', config.services.api.maxTasks)
    api.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: 60 })
    api.scaleOnRequestCount('Requests', { requestsPerTarget: 3000, targetGroup: this.apiTargets })
    // More processors than partitions would sit idle: each task is one partition of the inputs.
    const processor = scale('processor', Math.min(config.services.processor.maxTasks, config.partitions))
    processor.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: 70, scaleInCooldown: Duration.minutes(15), scaleOutCooldown: Duration.minutes(3) })
    processor.scaleOnMetric('Lag', {
      metric: props.lagMetric,
      scalingSteps: [{ upper: config.alarms.consumerLagRecords / 10, change: 0 }, { lower: config.alarms.consumerLagRecords / 2, change: 2 }],
      adjustmentType: appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
      cooldown: Duration.minutes(5)
    })
    scale('archiver', config.services.archiver.maxTasks).scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: 70 })
    scale('auth', config.services.auth.maxTasks).scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: 60 })
    // A consumer group too: tasks beyond the partition count would sit idle.
    scale('notifications', Math.min(config.services.notifications.maxTasks, config.partitions)).scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: 60 })

    new CfnOutput(this, 'LoadBalancerDns', { value: this.loadBalancer.loadBalancerDnsName })
    new CfnOutput(this, 'ClusterName', { value: this.cluster.clusterName })
  }

  private addRole (role: Role, props: ServicesProps): void {
    const { config, data } = props
    const size = config.services[role]
    const isProcessor = role === 'processor'
    const logGroup = new logs.LogGroup(this, `${title(role)}Logs`, {
      retention: config.logRetentionDays,
      removalPolicy: config.protectData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY
    })
    this.logGroups[role] = logGroup
    const task = new ecs.FargateTaskDefinition(this, `${title(role)}Task`, {
      cpu: size.cpu,
      memoryLimitMiB: size.memoryMiB,
      // RocksDB ships linux-x64 prebuilt binaries; the image is built for amd64.
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
      ...(isProcessor ? { ephemeralStorageGiB: config.processorStateGiB } : {}),
      volumes: [{ name: 'state' }, { name: 'tmp' }, ...(role === 'notifications' ? [{ name: 'notifications' }] : [])]
    })
    const secrets: Record<string, ecs.Secret> = {}
    if (needs[role].kafka) {
      secrets.REWARDS_KAFKA_SASL_USERNAME = ecs.Secret.fromSecretsManager(data.kafkaCredentials, 'username')
      secrets.REWARDS_KAFKA_SASL_PASSWORD = ecs.Secret.fromSecretsManager(data.kafkaCredentials, 'password')
    }
    if (needs[role].database) secrets.REWARDS_DATABASE_URL = ecs.Secret.fromSecretsManager(data.databaseUrl)
    if (needs[role].redis) secrets.REWARDS_REDIS_URL = ecs.Secret.fromSecretsManager(data.redisUrl)
    if (role === 'notifications') {
      for (const [name, secret] of Object.entries(props.notifications.secrets)) secrets[name] = ecs.Secret.fromSecretsManager(secret)
    }
    const image = ecs.ContainerImage.fromEcrRepository(props.repository, props.imageTag)
    const container = task.addContainer('rewards', {
      image,
      // The notifications role creates its own notifications-dlq when missing (idempotent).
      command: ['start', '--role', role, ...(role === 'notifications' ? ['--create-topics'] : [])],
      environment: {
        REWARDS_APPLICATION_ID: applicationId,
        REWARDS_PROCESSING_GUARANTEE: config.processingGuarantee,
        REWARDS_PARTITIONS: String(config.partitions),
        REWARDS_HTTP_HOST: '0.0.0.0',
        REWARDS_HTTP_PORT: String(httpPort),
        // GET /metrics on its own listener, never on the one the load balancer reaches.
        REWARDS_METRICS_PORT: String(metricsPort),
        REWARDS_DATA_DIR: stateDir,
        ...(needs[role].kafka
          ? { REWARDS_KAFKA_BROKERS: data.kafkaBootstrapBrokers, REWARDS_KAFKA_SASL_MECHANISM: 'scram-sha-512', REWARDS_KAFKA_TLS: 'true' }
          : {}),
        ...(role === 'notifications' ? { REWARDS_NOTIFICATIONS_FILE: notificationsFile } : {})
      },
      secrets,
      readonlyRootFilesystem: true,
      user: '1000:1000',
      portMappings: [{ containerPort: httpPort, name: 'http' }],
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: role, logGroup, mode: ecs.AwsLogDriverMode.NON_BLOCKING, maxBufferSize: Size.mebibytes(25) }),
      healthCheck: {
        command: ['CMD', 'node', '/app/infra/container/healthcheck.mjs'],
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(60)
      },
      // Graceful shutdown: readiness false, finish in-flight work, commit, close stores. Fargate's
      // maximum for the processor, whose commit and store close take longest.
      stopTimeout: Duration.seconds(isProcessor ? 120 : 30)
    })
    container.addMountPoints(
      { sourceVolume: 'state', containerPath: stateDir, readOnly: false },
      { sourceVolume: 'tmp', containerPath: '/tmp', readOnly: false }
    )
    if (role === 'notifications') {
      // ECS has no config files: this container writes the webhooks file onto a task volume and
      // exits; the app starts only once it succeeded, and mounts the volume read-only. The image
      // declares the directory as a VOLUME owned by uid 1000, so Fargate gives the volume that owner.
      const writer = task.addContainer('notifications-file', {
        image,
        essential: false,
        entryPoint: ['node', '-e', writeFileFromEnvScript],
        command: ['NOTIFICATIONS_FILE_CONTENT', notificationsFile],
        environment: { NOTIFICATIONS_FILE_CONTENT: props.notifications.settings.json },
        readonlyRootFilesystem: true,
        user: '1000:1000',
        logging: ecs.LogDrivers.awsLogs({ streamPrefix: `${role}-file`, logGroup, mode: ecs.AwsLogDriverMode.NON_BLOCKING, maxBufferSize: Size.mebibytes(1) })
      })
      writer.addMountPoints({ sourceVolume: 'notifications', containerPath: notificationsDir, readOnly: false })
      container.addMountPoints({ sourceVolume: 'notifications', containerPath: notificationsDir, readOnly: true })
      container.addContainerDependencies({ container: writer, condition: ecs.ContainerDependencyCondition.SUCCESS })
    }
    acknowledge(task, [
      { id: 'AwsSolutions-ECS2', reason: 'The environment holds only non-secret configuration (REWARDS_* of docs/contract.md "Configuration": broker addresses, ports, guarantees); every password and URL with credentials comes from Secrets Manager through `secrets`.' },
      { id: 'AwsSolutions-IAM5[Resource::*]', reason: 'The execution role needs ecr:GetAuthorizationToken to pull the image; that action has no resource-level permissions. Every other statement names its repository, log group or secret.' }
    ])
    this.services[role] = new ecs.FargateService(this, `${title(role)}Service`, {
      cluster: this.cluster as ecs.ICluster,
      taskDefinition: task,
      desiredCount: size.minTasks,
      // New tasks start (and, for the processor, restore) before old ones stop.
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { rollback: true },
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [this.securityGroups[role]],
      assignPublicIp: false,
      ...(role === 'api' || role === 'auth' ? { healthCheckGracePeriod: Duration.seconds(120) } : {}),
      propagateTags: ecs.PropagatedTagSource.SERVICE
    })
  }
}

function title (role: Role): string {
  return role[0]?.toUpperCase() + role.slice(1)
}
