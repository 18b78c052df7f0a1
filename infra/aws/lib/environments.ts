// Per-environment sizing and policy of the AWS deployment. Everything that differs between dev,
// staging and prod is here; the constructs read only this object.

export type EnvironmentName = 'dev' | 'staging' | 'prod'
export type Role = 'processor' | 'api' | 'archiver' | 'auth' | 'notifications'

export interface ServiceSize {
  cpu: number
  memoryMiB: number
  minTasks: number
  maxTasks: number
}

export interface RewardsEnvironment {
  name: EnvironmentName
  /** NAT gateways: one per AZ in prod so one AZ's outage does not cut the tasks' egress. */
  natGateways: number
  /** Partitions of the topics the app creates (REWARDS_PARTITIONS); bounds the processor count. */
  partitions: number
  processingGuarantee: 'exactly_once_v2' | 'at_least_once'
  kafka: { version: string, instanceType: string, brokerCount: number, volumeGiB: number }
  database: { instanceClass: string, multiAz: boolean, allocatedStorageGiB: number, maxAllocatedStorageGiB: number, backupRetentionDays: number }
  redis: { nodeType: string, replicas: number }
  services: Record<Role, ServiceSize>
  /** Fargate task storage for the processor's RocksDB state (20–200 GiB). */
  processorStateGiB: number
  logRetentionDays: 7 | 30 | 90 | 365
  /** Protects the database, the load balancer and retained data from deletion. */
  protectData: boolean
  alarms: {
    consumerLagRecords: number
    dlqRecordsPer5Min: number
    apiErrorRatePercent: number
    restoreSeconds: number
  }
}

const common = {
  partitions: 12,
  processingGuarantee: 'exactly_once_v2',
  kafka: { version: '3.9.x' }
} as const

export const environments: Record<EnvironmentName, RewardsEnvironment> = {
  dev: {
    ...common,
    name: 'dev',
    natGateways: 1,
    kafka: { ...common.kafka, instanceType: 'kafka.t3.small', brokerCount: 2, volumeGiB: 20 },
    database: { instanceClass: 't4g.micro', multiAz: false, allocatedStorageGiB: 20, maxAllocatedStorageGiB: 50, backupRetentionDays: 1 },
    redis: { nodeType: 'cache.t4g.micro', replicas: 0 },
    services: {
      processor: { cpu: 512, memoryMiB: 1024, minTasks: 1, maxTasks: 2 },
      api: { cpu: 256, memoryMiB: 512, minTasks: 1, maxTasks: 2 },
      archiver: { cpu: 256, memoryMiB: 512, minTasks: 1, maxTasks: 1 },
      auth: { cpu: 256, memoryMiB: 512, minTasks: 1, maxTasks: 1 },
      notifications: { cpu: 256, memoryMiB: 512, minTasks: 1, maxTasks: 1 }
    },
    processorStateGiB: 21,
    logRetentionDays: 7,
    protectData: false,
    alarms: { consumerLagRecords: 50_000, dlqRecordsPer5Min: 100, apiErrorRatePercent: 5, restoreSeconds: 600 }
  },
  staging: {
    ...common,
    name: 'staging',
    natGateways: 1,
    kafka: { ...common.kafka, instanceType: 'kafka.m7g.large', brokerCount: 2, volumeGiB: 100 },
    database: { instanceClass: 'r7g.large', multiAz: true, allocatedStorageGiB: 50, maxAllocatedStorageGiB: 200, backupRetentionDays: 7 },
    redis: { nodeType: 'cache.r7g.large', replicas: 1 },
    services: {
      processor: { cpu: 1024, memoryMiB: 2048, minTasks: 2, maxTasks: 6 },
      api: { cpu: 512, memoryMiB: 1024, minTasks: 2, maxTasks: 6 },
      archiver: { cpu: 512, memoryMiB: 1024, minTasks: 1, maxTasks: 2 },
      auth: { cpu: 256, memoryMiB: 512, minTasks: 2, maxTasks: 2 },
      notifications: { cpu: 256, memoryMiB: 512, minTasks: 2, maxTasks: 2 }
    },
    processorStateGiB: 50,
    logRetentionDays: 30,
    protectData: true,
    alarms: { consumerLagRecords: 50_000, dlqRecordsPer5Min: 10, apiErrorRatePercent: 1, restoreSeconds: 300 }
  },
  prod: {
    ...common,
    name: 'prod',
    natGateways: 2,
    kafka: { ...common.kafka, instanceType: 'kafka.m7g.large', brokerCount: 4, volumeGiB: 500 },
    database: { instanceClass: 'r7g.xlarge', multiAz: true, allocatedStorageGiB: 200, maxAllocatedStorageGiB: 2000, backupRetentionDays: 30 },
    redis: { nodeType: 'cache.r7g.large', replicas: 2 },
    services: {
      processor: { cpu: 2048, memoryMiB: 4096, minTasks: 3, maxTasks: 12 },
      api: { cpu: 1024, memoryMiB: 2048, minTasks: 3, maxTasks: 20 },
      archiver: { cpu: 1024, memoryMiB: 2048, minTasks: 2, maxTasks: 4 },
      auth: { cpu: 512, memoryMiB: 1024, minTasks: 2, maxTasks: 4 },
      notifications: { cpu: 512, memoryMiB: 1024, minTasks: 2, maxTasks: 6 }
    },
    processorStateGiB: 100,
    logRetentionDays: 365,
    protectData: true,
    alarms: { consumerLagRecords: 100_000, dlqRecordsPer5Min: 10, apiErrorRatePercent: 1, restoreSeconds: 300 }
  }
}

export function environmentNamed (name: string | undefined): RewardsEnvironment {
  if (name === 'dev' || name === 'staging' || name === 'prod') return environments[name]
  throw new Error(`unknown environment ${JSON.stringify(name)}: pass -c env=dev|staging|prod`)
}
