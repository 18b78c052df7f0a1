// The AWS deployment (infra/aws), synthesized offline for each environment: cdk-nag AwsSolutions
// passes (every exception acknowledged with its reason in code), and the template has what the
// platform needs: data stores encrypted and only in isolated subnets, least-privilege security
// groups and roles, one Fargate service per role configured by REWARDS_* and secrets, autoscaling
// bounded by partitions, health checks, alarms.
import t from 'tap'
import { App } from 'aws-cdk-lib'
import { Match } from 'aws-cdk-lib/assertions'
import { buildApp } from '../../infra/aws/lib/build-app.ts'
import { notificationFailurePattern } from '../../infra/aws/lib/alarms.ts'
import { environments } from '../../infra/aws/lib/environments.ts'
import type { EnvironmentName } from '../../infra/aws/lib/environments.ts'
import { SETTINGS } from '../../lib/config.ts'
import { restoreCompletedLog } from '../../cli/roles/restore-completed-log.ts'
import { dummyCertificate, synthesize } from './cdk-synth.ts'
import { matchesJsonFilter } from './cloudwatch-json-filter.ts'

type Resources = ReturnType<typeof synthesize>['resources']
const ofType = (resources: Resources, type: string) => Object.entries(resources).filter(([, r]) => r.Type === type)
const refId = (value: unknown): string => {
  const v = value as { Ref?: string, 'Fn::GetAtt'?: [string, string] }
  return v.Ref ?? v['Fn::GetAtt']?.[0] ?? JSON.stringify(value)
}
const secretsOf = (container: Record<string, unknown>) => ((container.Secrets ?? []) as Array<{ Name: string }>).map(s => s.Name).sort()

const expectedSecrets: Record<string, string[]> = {
  processor: ['REWARDS_KAFKA_SASL_PASSWORD', 'REWARDS_KAFKA_SASL_USERNAME'],
  api: ['REWARDS_DATABASE_URL', 'REWARDS_KAFKA_SASL_PASSWORD', 'REWARDS_KAFKA_SASL_USERNAME', 'REWARDS_REDIS_URL'],
  archiver: ['REWARDS_DATABASE_URL', 'REWARDS_KAFKA_SASL_PASSWORD', 'REWARDS_KAFKA_SASL_USERNAME'],
  auth: ['REWARDS_DATABASE_URL', 'REWARDS_REDIS_URL'],
  // Plus one per webhook of the notifications file (none in the shipped files; see notifications-deploy.test.ts).
  notifications: ['REWARDS_KAFKA_SASL_PASSWORD', 'REWARDS_KAFKA_SASL_USERNAME']
}

for (const name of ['dev', 'staging', 'prod'] as EnvironmentName[]) {
  t.test(`${name}: synthesizes offline and passes cdk-nag AwsSolutions`, async t => {
    const config = environments[name]
    const { rewards, registry, resources } = synthesize({ env: name, certificateArn: name === 'dev' ? undefined : dummyCertificate })
    t.pass('synth with the AwsSolutions plugin did not report a finding')

    t.test('data stores live in isolated subnets only', async t => {
      const isolated = new Set(ofType(resources, 'AWS::EC2::Subnet')
        .filter(([, r]) => JSON.stringify(r.Properties?.Tags).includes('"Isolated"'))
        .map(([id]) => id))
      t.equal(isolated.size, 2)
      const subnetLists: Array<[string, unknown[]]> = [
        ['MSK', (ofType(resources, 'AWS::MSK::Cluster')[0]?.[1].Properties?.BrokerNodeGroupInfo as { ClientSubnets: unknown[] }).ClientSubnets],
        ['RDS', ofType(resources, 'AWS::RDS::DBSubnetGroup')[0]?.[1].Properties?.SubnetIds as unknown[]],
        ['Redis', ofType(resources, 'AWS::ElastiCache::SubnetGroup')[0]?.[1].Properties?.SubnetIds as unknown[]]
      ]
      for (const [store, subnets] of subnetLists) {
        t.ok(subnets.length > 0 && subnets.every(s => isolated.has(refId(s))), `${store} only in isolated subnets`)
      }
      rewards.hasResourceProperties('AWS::RDS::DBInstance', { PubliclyAccessible: false })
    })

    t.test('encrypted at rest and in transit, credentials in Secrets Manager', async t => {
      rewards.hasResourceProperties('AWS::MSK::Cluster', {
        ClientAuthentication: { Sasl: { Scram: { Enabled: true } }, Unauthenticated: { Enabled: false } },
        EncryptionInfo: { EncryptionInTransit: { ClientBroker: 'TLS', InCluster: true }, EncryptionAtRest: { DataVolumeKMSKeyId: Match.anyValue() } }
      })
      rewards.hasResourceProperties('AWS::RDS::DBInstance', {
        StorageEncrypted: true,
        MultiAZ: config.database.multiAz,
        DeletionProtection: config.protectData,
        DBParameterGroupName: Match.anyValue()
      })
      rewards.hasResourceProperties('AWS::RDS::DBParameterGroup', { Parameters: Match.objectLike({ 'rds.force_ssl': '1' }) })
      rewards.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
        TransitEncryptionEnabled: true,
        AtRestEncryptionEnabled: true,
        MultiAZEnabled: config.redis.replicas > 0
      })
      const redis = ofType(resources, 'AWS::ElastiCache::ReplicationGroup')[0]?.[1].Properties
      t.match(JSON.stringify(redis?.AuthToken), /^\{"Fn::Join":\["",\["\{\{resolve:secretsmanager:/, 'Redis AUTH token is a Secrets Manager dynamic reference')
      for (const [id, secret] of ofType(resources, 'AWS::SecretsManager::Secret')) {
        t.ok(secret.Properties?.KmsKeyId, `${id} is encrypted with the stack's customer-managed key`)
      }
      rewards.hasResourceProperties('AWS::SecretsManager::Secret', { Name: `AmazonMSK_rewards-${name}` })
      rewards.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true })
      t.notMatch(JSON.stringify(resources), /"(Password|AuthToken|MasterUserPassword)":"[^{]/, 'no literal password anywhere in the template')
    })

    t.test('security groups admit only what each role uses', async t => {
      const ingress = ofType(resources, 'AWS::EC2::SecurityGroupIngress').map(([, r]) => r.Properties ?? {})
      const groupName = (id: string) => id.replace(/^(Data|App)/, '').replace(/SecurityGroup.*$/, '')
      const admitted = (group: string) => ingress
        .filter(rule => groupName(refId(rule.GroupId)) === group)
        .map(rule => `${groupName(refId(rule.SourceSecurityGroupId))}:${String(rule.FromPort)}-${String(rule.ToPort)}`)
        .sort()
      t.same(admitted('Kafka'), ['Api:9096-9096', 'Archiver:9096-9096', 'Notifications:9096-9096', 'Processor:9096-9096'])
      t.same(admitted('Database'), ['Api:5432-5432', 'Archiver:5432-5432', 'Auth:5432-5432'])
      t.same(admitted('Redis'), ['Api:6379-6379', 'Auth:6379-6379'])
      t.same(admitted('Processor'), ['Api:8080-8080', 'Processor:8080-8080'])
      t.same(admitted('Api'), ['LoadBalancer:8080-8080'])
      t.same(admitted('Auth'), ['LoadBalancer:8080-8080'])
      t.same(admitted('Archiver'), [])
      t.same(admitted('Notifications'), [], 'nothing calls the notifications role')
      // Its way out: HTTPS anywhere (partners, AWS APIs, through NAT) and MSK; no database, no Redis.
      const egressTo = (group: string) => ofType(resources, 'AWS::EC2::SecurityGroupEgress').map(([, r]) => r.Properties ?? {})
        .filter(rule => groupName(refId(rule.GroupId)) === group)
        .map(rule => `${groupName(refId(rule.DestinationSecurityGroupId))}:${String(rule.FromPort)}-${String(rule.ToPort)}`)
      t.same(egressTo('Notifications'), ['Kafka:9096-9096'], 'notifications reaches MSK only, of the data stores')
      const notificationsGroup = ofType(resources, 'AWS::EC2::SecurityGroup').find(([id]) => groupName(id) === 'Notifications')?.[1]
      t.same((notificationsGroup?.Properties?.SecurityGroupEgress as unknown[]).map(rule => ({ ...(rule as object), Description: undefined })),
        [{ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443, Description: undefined }], 'and HTTPS out, for the partner webhooks')
      const services = ofType(resources, 'AWS::ECS::Service').map(([, r]) => r.Properties ?? {})
      const notificationsService = services.find(svc => JSON.stringify(svc.NetworkConfiguration).includes('NotificationsSecurityGroup'))
      const config = notificationsService?.NetworkConfiguration as { AwsvpcConfiguration: { AssignPublicIp: string, Subnets: unknown[], SecurityGroups: unknown[] } } | undefined
      t.equal(config?.AwsvpcConfiguration.AssignPublicIp, 'DISABLED')
      t.same(config?.AwsvpcConfiguration.SecurityGroups.map(g => groupName(refId(g))), ['Notifications'], 'its own security group')
      const privateSubnets = new Set(ofType(resources, 'AWS::EC2::Subnet').filter(([, r]) => JSON.stringify(r.Properties?.Tags).includes('"Private"')).map(([id]) => id))
      t.ok(config !== undefined && config.AwsvpcConfiguration.Subnets.every(subnet => privateSubnets.has(refId(subnet))), 'in the private subnets (egress through NAT)')
      t.notOk(ingress.some(rule => rule.CidrIp !== undefined), 'no CIDR ingress outside the load balancer')
      for (const [id, group] of ofType(resources, 'AWS::EC2::SecurityGroup')) {
        const inbound = (group.Properties?.SecurityGroupIngress ?? []) as Array<{ CidrIp?: string, FromPort?: number }>
        const outbound = (group.Properties?.SecurityGroupEgress ?? []) as Array<{ CidrIp?: string, IpProtocol?: string, FromPort?: number }>
        t.notOk(outbound.some(rule => rule.IpProtocol === '-1'), `${id} does not allow all outbound`)
        for (const rule of outbound.filter(r => r.CidrIp === '0.0.0.0/0')) t.equal(rule.FromPort, 443, `${id}: open egress is HTTPS only`)
        if (id.startsWith('AppLoadBalancer')) {
          t.same(inbound.map(r => r.FromPort).sort(), name === 'dev' ? [80] : [443, 80], 'the load balancer is the only public entry')
        } else {
          t.same(inbound, [], `${id} has no inline ingress`)
        }
      }
    })

    t.test('one Fargate service per role, configured by REWARDS_* and secrets', async t => {
      const tasks = ofType(resources, 'AWS::ECS::TaskDefinition').map(([, r]) => r.Properties ?? {})
      t.equal(tasks.length, 5)
      t.equal(ofType(resources, 'AWS::ECS::Service').length, 5)
      t.same(tasks.map(task => ((task.ContainerDefinitions as Array<{ Name: string, Command: string[] }>).find(c => c.Name === 'rewards')?.Command ?? [])[2]).sort(),
        ['api', 'archiver', 'auth', 'notifications', 'processor'], 'one task definition per role')
      for (const task of tasks) {
        const definitions = task.ContainerDefinitions as Array<Record<string, unknown>>
        const container = definitions.find(c => c.Name === 'rewards')
        if (container === undefined) { t.fail('a container'); continue }
        const command = container.Command as string[]
        const role = command[2] ?? ''
        t.same(command.slice(0, 2), ['start', '--role'])
        t.same(command.slice(3), role === 'notifications' ? ['--create-topics'] : [], `${role}: arguments`)
        t.same(secretsOf(container), expectedSecrets[role], `${role}: only the secrets it uses`)
        const environment = container.Environment as Array<{ Name: string, Value: unknown }>
        t.ok(environment.every(e => e.Name.startsWith('REWARDS_')), `${role}: configured only by REWARDS_*`)
        // A name lib/config.ts does not know would be silently ignored by the app.
        const unknown = [...environment.map(e => e.Name), ...secretsOf(container)].filter(n => !SETTINGS.some(s => s.env === n))
        t.same(unknown, [], `${role}: every variable it sets is one lib/config.ts reads`)
        t.notMatch(JSON.stringify(environment), /password|secret|:\/\/[^/]*@/i, `${role}: no credentials in the environment`)
        t.ok(environment.some(e => e.Name === 'REWARDS_METRICS_PORT' && e.Value !== String(8080)), `${role}: /metrics off the load-balanced listener`)
        t.equal(container.ReadonlyRootFilesystem, true)
        t.equal(container.User, '1000:1000')
        t.same((container.HealthCheck as { Command: string[] }).Command, ['CMD', 'node', '/app/infra/container/healthcheck.mjs'])
        const mounts = (container.MountPoints as Array<{ ContainerPath: string, ReadOnly: boolean }>)
        t.same(mounts.map(m => m.ContainerPath).sort(), role === 'notifications' ? ['/etc/rewards/notifications', '/tmp', '/var/lib/rewards'] : ['/tmp', '/var/lib/rewards'])
        if (role === 'notifications') {
          t.equal(mounts.find(m => m.ContainerPath === '/etc/rewards/notifications')?.ReadOnly, true, 'the webhooks file is read-only for the app')
          t.ok(environment.some(e => e.Name === 'REWARDS_NOTIFICATIONS_FILE' && e.Value === '/etc/rewards/notifications/notifications.json'), 'REWARDS_NOTIFICATIONS_FILE on that volume')
          // The file's writer: runs first, must succeed, non-root, read-only root, no secret.
          const writer = definitions.find(c => c.Name === 'notifications-file')
          t.match(writer, { Essential: false, ReadonlyRootFilesystem: true, User: '1000:1000' }, 'the file writer is a non-essential, non-root container')
          t.same(writer?.Secrets, undefined, 'the file writer gets no secret (the file has none)')
          t.same(container.DependsOn, [{ ContainerName: 'notifications-file', Condition: 'SUCCESS' }], 'the app starts after the file is written')
          t.same((writer?.MountPoints as Array<{ ContainerPath: string }>).map(m => m.ContainerPath), ['/etc/rewards/notifications'])
          t.equal(JSON.parse((writer?.Environment as Array<{ Value: string }>)[0]?.Value ?? '').endpoints.length, 0, 'the shipped file: no endpoint')
        } else {
          t.equal(definitions.length, 1, `${role}: one container`)
        }
        t.equal(container.StopTimeout, role === 'processor' ? 120 : 30)
        t.equal(task.TaskRoleArn !== undefined, true)
        if (role === 'processor') t.same(task.EphemeralStorage, { SizeInGiB: config.processorStateGiB }, 'room for RocksDB state')
        if (role === 'notifications') t.equal(task.Cpu, String(config.services.notifications.cpu))
      }
      // The app calls no AWS API: task roles carry no policy at all.
      const taskRoles = new Set(tasks.map(task => refId(task.TaskRoleArn)))
      for (const [id, policy] of ofType(resources, 'AWS::IAM::Policy')) {
        const attached = (policy.Properties?.Roles as unknown[]).map(refId)
        t.notOk(attached.some(role => taskRoles.has(role)), `${id} is not on a task role`)
      }
      rewards.hasResourceProperties('AWS::ECS::Service', { DeploymentConfiguration: { DeploymentCircuitBreaker: { Enable: true, Rollback: true }, MinimumHealthyPercent: 100 }, NetworkConfiguration: { AwsvpcConfiguration: { AssignPublicIp: 'DISABLED' } } })
      rewards.hasResourceProperties('AWS::ECS::Cluster', { ClusterSettings: [{ Name: 'containerInsights', Value: 'enhanced' }] })
    })

    t.test('autoscaling: API on CPU and requests, processors bounded by partitions', async t => {
      const targets = ofType(resources, 'AWS::ApplicationAutoScaling::ScalableTarget').map(([, r]) => r.Properties ?? {})
      const maxima = targets.map(target => target.MaxCapacity as number)
      t.ok(maxima.includes(Math.min(config.services.processor.maxTasks, config.partitions)))
      t.ok(maxima.every(max => max >= 1))
      rewards.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', { TargetTrackingScalingPolicyConfiguration: { PredefinedMetricSpecification: { PredefinedMetricType: 'ALBRequestCountPerTarget' } } })
      rewards.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', { TargetTrackingScalingPolicyConfiguration: { PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' } } })
      rewards.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', { PolicyType: 'StepScaling' })
    })

    t.test('the load balancer: ready checks, metrics hidden, HTTPS outside dev', async () => {
      rewards.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', { HealthCheckPath: '/health/ready', TargetType: 'ip', Port: 8080 })
      rewards.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
        Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/metrics', '/metrics/*'] } }],
        Actions: [Match.objectLike({ Type: 'fixed-response', FixedResponseConfig: Match.objectLike({ StatusCode: '404' }) })]
      })
      rewards.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', { Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/oauth/*', '/.well-known/*'] } }] })
      rewards.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internet-facing', LoadBalancerAttributes: Match.arrayWith([{ Key: 'routing.http.drop_invalid_header_fields.enabled', Value: 'true' }, { Key: 'access_logs.s3.enabled', Value: 'true' }]) })
      if (name === 'dev') {
        rewards.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 80, Protocol: 'HTTP' })
      } else {
        rewards.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 443, Protocol: 'HTTPS', Certificates: [{ CertificateArn: dummyCertificate }] })
        rewards.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 80, DefaultActions: [Match.objectLike({ Type: 'redirect' })] })
      }
    })

    t.test('alarms: consumer lag, DLQ growth, error rate, restore time, capacity', async t => {
      const alarms = ofType(resources, 'AWS::CloudWatch::Alarm').map(([, r]) => r.Properties ?? {})
      const names = alarms.map(a => a.AlarmName as string)
      for (const expected of ['consumer-lag-reward-events', 'consumer-lag-redeem-events', 'dlq-growth-reward-events-dlq', 'dlq-growth-redeem-events-dlq', 'dlq-growth-notifications-dlq', 'notification-delivery-failures', 'api-error-rate', 'restore-time', 'processor-errors', 'api-errors', 'archiver-errors', 'auth-errors', 'notifications-errors', 'kafka-disk-used', 'database-free-storage']) {
        t.ok(names.includes(`rewards-${name}-${expected}`), `alarm ${expected}`)
      }
      t.ok(alarms.every(a => (a.AlarmActions as unknown[]).length === 1), 'every alarm notifies the SNS topic')
      rewards.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'MaxOffsetLag', Namespace: 'AWS/Kafka', Dimensions: Match.arrayWith([{ Name: 'Consumer Group', Value: 'rewards' }]) })
      rewards.hasResourceProperties('AWS::Logs::MetricFilter', { FilterPattern: Match.stringLikeRegexp('restore\\.completed'), MetricTransformations: [Match.objectLike({ MetricValue: '$.durationMs' })] })
      // The deployed filter against the line the processor really writes (restore-completed-log.ts,
      // in pino's shape): it matches, and its metric value is the number of milliseconds.
      const restoreFilter = ofType(resources, 'AWS::Logs::MetricFilter').map(([, r]) => r.Properties ?? {})
        .find(p => (p.MetricTransformations as Array<{ MetricName: string }>)[0]?.MetricName === 'RestoreDurationMs')
      const pattern = restoreFilter?.FilterPattern as string
      const { fields, message } = restoreCompletedLog({ task: '0_2', durationMs: 4321.4, records: 1200 })
      const line = { level: 'info', time: new Date().toISOString(), pid: 7, role: 'processor', ...fields, msg: message }
      t.ok(matchesJsonFilter(pattern, JSON.stringify(line)), `${pattern} matches the processor's restore.completed line`)
      const valuePath = (restoreFilter?.MetricTransformations as Array<{ MetricValue: string }>)[0]?.MetricValue ?? ''
      t.equal((line as Record<string, unknown>)[valuePath.replace(/^\$\./, '')], 4321, 'its metric value is the duration in whole ms')
      t.notOk(matchesJsonFilter(pattern, JSON.stringify({ ...line, event: 'restore.started' })), 'and not other events')
      t.notOk(matchesJsonFilter(pattern, JSON.stringify({ ...line, durationMs: undefined })), 'nor a line without durationMs')
      // Notifications: DLQ growth from the broker's per-topic metrics, like the other DLQs, summed
      // over every broker; delivery failures from the role's log lines (its own log group).
      const alarmNamed = (suffix: string) => alarms.find(a => a.AlarmName === `rewards-${name}-${suffix}`)
      const dlq = alarmNamed('dlq-growth-notifications-dlq')
      const dlqMetrics = (dlq?.Metrics as Array<{ MetricStat?: { Metric: { Namespace: string, MetricName: string, Dimensions: Array<{ Name: string, Value: string }> } } }>).flatMap(m => m.MetricStat === undefined ? [] : [m.MetricStat.Metric])
      t.equal(dlqMetrics.length, config.kafka.brokerCount, 'one metric per broker')
      t.ok(dlqMetrics.every(m => m.Namespace === 'AWS/Kafka' && m.MetricName === 'MessagesInPerSec' && m.Dimensions.some(d => d.Name === 'Topic' && d.Value === 'notifications-dlq')), 'MessagesInPerSec of notifications-dlq')
      t.equal(dlq?.Threshold, config.alarms.dlqRecordsPer5Min)
      const failures = alarmNamed('notification-delivery-failures')
      const failureFilter = ofType(resources, 'AWS::Logs::MetricFilter').map(([, r]) => r.Properties ?? {})
        .find(p => (p.MetricTransformations as Array<{ MetricName: string }>)[0]?.MetricName === 'NotificationFailureLogLines')
      t.equal(failureFilter?.FilterPattern, notificationFailurePattern.logPatternString, 'the failure filter is the one tested against real lines (notifications-deploy.test.ts)')
      t.match(refId(failureFilter?.LogGroupName), /^AppNotificationsLogs/, 'on the notifications log group')
      t.match(failures, { MetricName: 'NotificationFailureLogLines', Namespace: `Rewards/${name}`, Statistic: 'Sum', Period: 300, Threshold: 0, EvaluationPeriods: 2, DatapointsToAlarm: 2 })
      rewards.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() })
      for (const [, group] of ofType(resources, 'AWS::Logs::LogGroup')) t.equal(group.Properties?.RetentionInDays, config.logRetentionDays)
    })

    t.test('registry: scanned, immutable images; CI role trusted for this repository only', async () => {
      registry.hasResourceProperties('AWS::ECR::Repository', { RepositoryName: 'rewards', ImageScanningConfiguration: { ScanOnPush: true }, ImageTagMutability: 'IMMUTABLE' })
      registry.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Condition: Match.objectLike({ StringLike: { 'token.actions.githubusercontent.com:sub': ['repo:example-org/rewards-streams:ref:refs/heads/main', 'repo:example-org/rewards-streams:environment:*'] } }) })] }
      })
    })
  })
}

t.test('the app refuses incomplete context with a message naming what is missing', async t => {
  t.throws(() => buildApp(new App(), { env: 'qa', imageTag: 'x' }), /unknown environment "qa": pass -c env=dev\|staging\|prod/)
  t.throws(() => buildApp(new App(), { env: 'dev', imageTag: undefined }), /pass -c imageTag=/)
  t.throws(() => buildApp(new App(), { env: 'prod', imageTag: 'x' }), /prod serves the API over HTTPS only: pass -c certificateArn=/)
})
