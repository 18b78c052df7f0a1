// What the operators are paged for, each alarm on a metric that exists without extra agents:
//   consumer lag      AWS/Kafka MaxOffsetLag of the processor's consumer group, per input topic
//   DLQ growth        AWS/Kafka MessagesInPerSec of each *-dlq topic (notifications-dlq too),
//                     summed over the brokers
//   webhook failures  warn lines about a partner endpoint in the notifications role's JSON logs
//                     (metric filter): circuit opened, delivery gave up, dead letter not written
//   API error rate    ALB target 5xx / requests
//   app errors        error-level lines of each role's JSON logs (metric filter)
//   restore time      the processor's "restore.completed" log line's durationMs (metric filter)
//   capacity          MSK broker disk, RDS free storage
// All alarms notify one encrypted SNS topic; subscribe the on-call channel to it.
import { Duration } from 'aws-cdk-lib'
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch'
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions'
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2'
import type * as kms from 'aws-cdk-lib/aws-kms'
import * as logs from 'aws-cdk-lib/aws-logs'
import * as sns from 'aws-cdk-lib/aws-sns'
import { Construct } from 'constructs'
import type { DataStores } from './data-stores.ts'
import type { RewardsEnvironment } from './environments.ts'
import { applicationId, roles } from './services.ts'
import type { Services } from './services.ts'

export const inputTopics = ['reward-events', 'redeem-events'] as const
export const dlqTopics = ['reward-events-dlq', 'redeem-events-dlq', 'notifications-dlq'] as const
const dlqMeaning: Record<typeof dlqTopics[number], string> = {
  'reward-events-dlq': 'a producer sends bad events (see the error.code headers)',
  'redeem-events-dlq': 'a producer sends bad events (see the error.code headers)',
  'notifications-dlq': 'partner webhooks refused them or did not answer within the retry budget (see the notification.endpoint and notification.error headers; replay once fixed, docs/notifications.md)'
}
/** The log line the processor writes when a task's stores finish restoring (contract with the app). */
export const restoreCompletedPattern = logs.FilterPattern.all(
  logs.FilterPattern.stringValue('$.event', '=', 'restore.completed'),
  logs.FilterPattern.exists('$.durationMs')
)

/** Lines of the notifications role (processors/notifications) warning about one partner endpoint:
 *  its circuit opened, a delivery gave up, or a dead letter could not be written. Every such line
 *  carries `endpoint`; the role's other endpoint lines (circuit closed or half-open) are info. */
export const notificationFailurePattern = logs.FilterPattern.all(
  logs.FilterPattern.exists('$.endpoint'),
  logs.FilterPattern.any(
    logs.FilterPattern.stringValue('$.level', '=', 'warn'),
    logs.FilterPattern.stringValue('$.level', '=', 'error'),
    logs.FilterPattern.numberValue('$.level', '>=', 40)
  )
)

export function consumerLagMetric (clusterName: string, topic: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/Kafka',
    metricName: 'MaxOffsetLag',
    dimensionsMap: { 'Cluster Name': clusterName, 'Consumer Group': applicationId, Topic: topic },
    statistic: 'Maximum',
    period: Duration.minutes(1)
  })
}

export interface AlarmsProps {
  config: RewardsEnvironment
  key: kms.IKey
  data: DataStores
  services: Services
}

export class Alarms extends Construct {
  readonly topic: sns.Topic

  constructor (scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id)
    const { config, data, services } = props
    this.topic = new sns.Topic(this, 'Topic', { displayName: `rewards ${config.name} alarms`, masterKey: props.key, enforceSSL: true })
    const notify = new actions.SnsAction(this.topic)
    const alarm = (name: string, alarmProps: cloudwatch.AlarmProps) => {
      const created = new cloudwatch.Alarm(this, name, { alarmName: `rewards-${config.name}-${kebab(name)}`, ...alarmProps })
      created.addAlarmAction(notify)
      created.addOkAction(notify)
      return created
    }

    for (const topic of inputTopics) {
      alarm(`ConsumerLag${pascal(topic)}`, {
        alarmDescription: `Processor lag on ${topic} above ${config.alarms.consumerLagRecords} records for 5 minutes: scale out (bounded by partitions) or look for a stuck task (docs/deploy.md).`,
        metric: consumerLagMetric(data.kafkaClusterName, topic),
        threshold: config.alarms.consumerLagRecords,
        evaluationPeriods: 5,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING
      })
    }

    const brokerIds = Array.from({ length: config.kafka.brokerCount }, (_, i) => String(i + 1))
    for (const topic of dlqTopics) {
      const usingMetrics = Object.fromEntries(brokerIds.map(id => [`b${id}`, new cloudwatch.Metric({
        namespace: 'AWS/Kafka',
        metricName: 'MessagesInPerSec',
        dimensionsMap: { 'Cluster Name': data.kafkaClusterName, 'Broker ID': id, Topic: topic },
        statistic: 'Average',
        period: Duration.minutes(5)
      })]))
      alarm(`DlqGrowth${pascal(topic)}`, {
        alarmDescription: `More than ${config.alarms.dlqRecordsPer5Min} records reached ${topic} in 5 minutes: ${dlqMeaning[topic]}.`,
        metric: new cloudwatch.MathExpression({ expression: `(${Object.keys(usingMetrics).join(' + ')}) * 300`, usingMetrics, label: `${topic} records per 5 min`, period: Duration.minutes(5) }),
        threshold: config.alarms.dlqRecordsPer5Min,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING
      })
    }

    const targets = services.apiTargets.metrics
    alarm('ApiErrorRate', {
      alarmDescription: `More than ${config.alarms.apiErrorRatePercent}% of API requests answered 5xx for 3 of 5 minutes.`,
      metric: new cloudwatch.MathExpression({
        expression: 'IF(requests > 0, 100 * errors / requests, 0)',
        usingMetrics: {
          errors: targets.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { statistic: 'Sum', period: Duration.minutes(1) }),
          requests: targets.requestCount({ statistic: 'Sum', period: Duration.minutes(1) })
        },
        label: 'API 5xx %',
        period: Duration.minutes(1)
      }),
      threshold: config.alarms.apiErrorRatePercent,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING
    })

    const namespace = `Rewards/${config.name}`
    for (const role of roles) {
      const errors = new logs.MetricFilter(this, `${pascal(role)}ErrorLogs`, {
        logGroup: services.logGroups[role],
        filterPattern: logs.FilterPattern.any(
          logs.FilterPattern.stringValue('$.level', '=', 'error'),
          logs.FilterPattern.stringValue('$.level', '=', 'fatal'),
          logs.FilterPattern.numberValue('$.level', '>=', 50)
        ),
        metricNamespace: namespace,
        metricName: `${pascal(role)}ErrorLogLines`,
        metricValue: '1'
      })
      alarm(`${pascal(role)}Errors`, {
        alarmDescription: `The ${role} role logged errors in 3 of the last 5 minutes.`,
        metric: errors.metric({ statistic: 'Sum', period: Duration.minutes(1) }),
        threshold: 0,
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING
      })
    }

    const webhookFailures = new logs.MetricFilter(this, 'NotificationFailures', {
      logGroup: services.logGroups.notifications,
      filterPattern: notificationFailurePattern,
      metricNamespace: namespace,
      metricName: 'NotificationFailureLogLines',
      metricValue: '1'
    })
    alarm('NotificationDeliveryFailures', {
      alarmDescription: 'A partner webhook failed in two 5-minute windows in a row (its circuit opened, deliveries gave up, or dead letters could not be written): the notifications log group\'s warn lines name the endpoint; rewards_notifications_circuit_state shows it (docs/notifications.md).',
      metric: webhookFailures.metric({ statistic: 'Sum', period: Duration.minutes(5) }),
      threshold: 0,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING
    })

    const restore = new logs.MetricFilter(this, 'RestoreDuration', {
      logGroup: services.logGroups.processor,
      filterPattern: restoreCompletedPattern,
      metricNamespace: namespace,
      metricName: 'RestoreDurationMs',
      metricValue: '$.durationMs'
    })
    alarm('RestoreTime', {
      alarmDescription: `A processor task took more than ${config.alarms.restoreSeconds} s to restore its stores from the changelogs: consider more processor tasks (smaller slices) or larger task storage (docs/deploy.md).`,
      metric: restore.metric({ statistic: 'Maximum', period: Duration.minutes(5) }),
      threshold: config.alarms.restoreSeconds * 1000,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING
    })

    const diskMetrics = Object.fromEntries(brokerIds.map(id => [`d${id}`, new cloudwatch.Metric({
      namespace: 'AWS/Kafka',
      metricName: 'KafkaDataLogsDiskUsed',
      dimensionsMap: { 'Cluster Name': data.kafkaClusterName, 'Broker ID': id },
      statistic: 'Maximum',
      period: Duration.minutes(5)
    })]))
    alarm('KafkaDiskUsed', {
      alarmDescription: 'A Kafka broker data volume is more than 80% full.',
      metric: new cloudwatch.MathExpression({ expression: `MAX([${Object.keys(diskMetrics).join(', ')}])`, usingMetrics: diskMetrics, label: 'max broker disk used %', period: Duration.minutes(5) }),
      threshold: 80,
      evaluationPeriods: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
    })
    alarm('DatabaseFreeStorage', {
      alarmDescription: 'The archive database has less than 10 GiB free (storage autoscaling may be at its maximum).',
      metric: data.database.metricFreeStorageSpace({ statistic: 'Minimum', period: Duration.minutes(5) }),
      threshold: 10 * 1024 ** 3,
      evaluationPeriods: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD
    })
  }
}

function pascal (name: string): string {
  return name.split('-').map(part => part[0]?.toUpperCase() + part.slice(1)).join('')
}

function kebab (name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()
}
