// The Kubernetes manifests of infra/k8s, validated against the Kubernetes API schemas shipped by
// `kubernetes-models` (each object through its kind's model), plus what the platform needs from
// them: processor as a StatefulSet with a volume per pod, API with an HPA, every workload with a
// PodDisruptionBudget, live/ready probes, configuration only from the ConfigMap/Secrets, Kafka SASL
// credentials on every Kafka workload (optional, for plaintext dev brokers), the notifications role
// with its webhooks file from a read-only ConfigMap and egress limited to DNS, Kafka and HTTPS, and
// the restricted security context the Dockerfile's non-root user allows.
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { SETTINGS } from '../../lib/config.ts'
import { MIN_SECRET_BYTES, parseNotificationsConfig } from '../../lib/notifications-config.ts'
import { repoRoot } from './dockerfile.ts'
import { loadValidator, strictValidate } from './k8s-strict.ts'

interface K8sObject { apiVersion: string, kind: string, metadata: { name: string, namespace?: string }, spec?: Record<string, unknown>, data?: Record<string, string> }
interface Container { args: string[], envFrom?: unknown[], env?: Array<{ name: string, valueFrom?: { secretKeyRef?: { name: string, key: string, optional?: boolean } } }>, readinessProbe?: { httpGet: { path: string } }, livenessProbe?: { httpGet: { path: string } }, securityContext: Record<string, unknown>, image: string }
interface PodSpec { containers: Container[], securityContext: Record<string, unknown>, terminationGracePeriodSeconds: number, automountServiceAccountToken: boolean }

const dir = join(repoRoot, 'infra', 'k8s')
const files = readdirSync(dir).filter(f => f.endsWith('.yaml') && f !== 'kustomization.yaml')
const loaded = files.flatMap(file => parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map(doc => {
  if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map(e => e.message).join('; ')}`)
  return { file, object: doc.toJS() as K8sObject }
}))
const objects = loaded.map(l => l.object)
const find = (kind: string, name: string) => objects.find(o => o.kind === kind && o.metadata.name === name)
const podSpec = (o: K8sObject | undefined) => (o?.spec?.template as { spec: PodSpec } | undefined)?.spec
/** The example Secrets (secret.example.yaml), by name: their keys are the contract with the pods. */
const exampleSecrets = new Map(loaded.filter(l => l.file === 'secret.example.yaml' && l.object.kind === 'Secret')
  .map(l => [l.object.metadata.name, (l.object as unknown as { stringData: Record<string, string> }).stringData]))

async function modelFor (apiVersion: string, kind: string): Promise<new (data: unknown) => { validate: () => void }> {
  const module = await import(`kubernetes-models/${apiVersion}`) as Record<string, new (data: unknown) => { validate: () => void }>
  const model = module[kind]
  if (model === undefined) throw new Error(`kubernetes-models has no ${apiVersion} ${kind}`)
  return model
}

t.test('every object is valid against its Kubernetes schema', async t => {
  t.ok(objects.length >= 15, `${objects.length} objects`)
  for (const { file, object } of loaded) {
    const Model = await modelFor(object.apiVersion, object.kind)
    t.doesNotThrow(() => new Model(object).validate(), `${file}: ${object.kind}/${object.metadata.name}`)
    const { errors, unknownFields } = strictValidate(await loadValidator(object.apiVersion, object.kind), object)
    t.same({ errors, unknownFields }, { errors: [], unknownFields: [] }, `${file}: ${object.kind}/${object.metadata.name} has no unknown field`)
  }
})

t.test('the validator catches mistakes (so a pass means something)', async t => {
  const Deployment = await modelFor('apps/v1', 'Deployment')
  const api = structuredClone(find('Deployment', 'rewards-api'))
  ;(api?.spec as Record<string, unknown>).replicas = 'two'
  t.throws(() => new Deployment(api).validate(), 'a string where an integer belongs')
  const noContainers = structuredClone(find('Deployment', 'rewards-api'))
  delete (podSpec(noContainers) as Partial<PodSpec>).containers
  t.throws(() => new Deployment(noContainers).validate(), 'a pod without containers')
  const typo = structuredClone(find('StatefulSet', 'rewards-processor')) as unknown as { spec: { replicaz?: number, volumeClaimTemplates: Array<{ spec: Record<string, unknown> }> } }
  typo.spec.replicaz = 3
  const claim = typo.spec.volumeClaimTemplates[0]
  if (claim !== undefined) claim.spec.storageClass = 'gp3'
  const { unknownFields } = strictValidate(await loadValidator('apps/v1', 'StatefulSet'), typo)
  t.same([...unknownFields].sort(), ['/spec/replicaz', '/spec/volumeClaimTemplates/0/spec/storageClass'], 'misspelt fields are reported')
})

t.test('kustomization lists every manifest but the example Secret and the one-off Job', async t => {
  const kustomization = parseAllDocuments(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'))[0]?.toJS() as { resources: string[] }
  t.same([...kustomization.resources].sort(), files.filter(f => f !== 'secret.example.yaml' && f !== 'create-topics-job.yaml').sort())
  t.ok(objects.every(o => o.kind === 'Namespace' || o.metadata.namespace === 'rewards'), 'everything in the rewards namespace')
})

t.test('processor: StatefulSet with a persistent volume per pod for RocksDB', async t => {
  const processor = find('StatefulSet', 'rewards-processor')
  const spec = processor?.spec as { serviceName: string, volumeClaimTemplates: Array<{ metadata: { name: string } }> } | undefined
  t.equal(spec?.serviceName, 'rewards-processor')
  t.equal(find('Service', 'rewards-processor')?.spec?.clusterIP, 'None', 'headless service for stable pod names')
  t.same(spec?.volumeClaimTemplates.map(v => v.metadata.name), ['state'])
  const mounts = (podSpec(processor)?.containers[0] as unknown as { volumeMounts: Array<{ name: string, mountPath: string }> }).volumeMounts
  t.ok(mounts.some(m => m.name === 'state' && m.mountPath === find('ConfigMap', 'rewards-config')?.data?.REWARDS_DATA_DIR), 'the volume is REWARDS_DATA_DIR')
  t.equal(podSpec(processor)?.terminationGracePeriodSeconds, 120)
})

t.test('API: Deployment with an HPA; archiver, auth and notifications Deployments; a PDB for each', async t => {
  const hpa = find('HorizontalPodAutoscaler', 'rewards-api')
  t.same((hpa?.spec as { scaleTargetRef: unknown }).scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'rewards-api' })
  for (const [kind, name, role] of [['StatefulSet', 'rewards-processor', 'processor'], ['Deployment', 'rewards-api', 'api'], ['Deployment', 'rewards-archiver', 'archiver'], ['Deployment', 'rewards-auth', 'auth'], ['Deployment', 'rewards-notifications', 'notifications']] as const) {
    const workload = find(kind, name)
    t.ok(workload, `${kind} ${name}`)
    t.same(podSpec(workload)?.containers[0]?.args.slice(0, 3), ['start', '--role', role], `${name}: one image, role by argument`)
    const pdb = find('PodDisruptionBudget', name)
    t.same((pdb?.spec as { selector: unknown }).selector, (workload?.spec as { selector: unknown }).selector, `${name}: PDB selects its pods`)
    t.equal((pdb?.spec as { maxUnavailable?: number }).maxUnavailable, 1, `${name}: one pod at a time`)
  }
})

t.test('notifications: a consumer group fed the webhooks file from a ConfigMap, read-only', async t => {
  const workload = find('Deployment', 'rewards-notifications')
  const pod = podSpec(workload) as unknown as PodSpec & { volumes: Array<{ name: string, configMap?: { name: string } }> }
  const container = pod.containers[0] as Container & { volumeMounts: Array<{ name: string, mountPath: string, readOnly?: boolean }> }
  t.ok(((workload?.spec as { replicas: number }).replicas) >= 2, 'more than one replica: the group shares the partitions')
  t.same(container.args, ['start', '--role', 'notifications', '--create-topics'], 'creates its own notifications-dlq when missing')
  const file = container.env?.find(e => e.name === 'REWARDS_NOTIFICATIONS_FILE') as { value?: string } | undefined
  const path = file?.value ?? ''
  const mount = container.volumeMounts.find(m => path.startsWith(`${m.mountPath}/`))
  t.equal(mount?.readOnly, true, `${path} is on a read-only mount`)
  const volume = pod.volumes.find(v => v.name === mount?.name)
  const configMap = find('ConfigMap', volume?.configMap?.name ?? '')
  const key = path.slice((mount?.mountPath.length ?? 0) + 1)
  t.ok(configMap?.data?.[key], `the file is key ${key} of ConfigMap ${volume?.configMap?.name ?? '?'}`)
  // The shipped file is one the role accepts: valid, and without endpoints (idle until edited).
  const parsed = parseNotificationsConfig(JSON.parse(configMap?.data?.[key] ?? 'null'), key, {})
  t.same(parsed.endpoints, [], 'shipped without endpoints: the role idles, ready')
  t.same(container.envFrom?.[1], { secretRef: { name: 'rewards-notifications-secrets', optional: true } }, 'webhook secrets by the names the file gives, optional while it has no endpoint')
  const webhookSecrets = exampleSecrets.get('rewards-notifications-secrets') ?? {}
  t.ok(Object.keys(webhookSecrets).length > 0 && Object.values(webhookSecrets).every(v => Buffer.byteLength(v) >= MIN_SECRET_BYTES), 'the example shows a secret long enough to be accepted')

  const egress = objects.filter(o => o.kind === 'NetworkPolicy' && (o.spec?.policyTypes as string[]).includes('Egress'))
  t.same(egress.map(o => (o.spec?.podSelector as { matchLabels?: unknown }).matchLabels), [{ 'app.kubernetes.io/name': 'rewards-notifications' }], 'one egress policy, on the notifications pods')
  const rules = (egress[0]?.spec?.egress ?? []) as Array<{ to?: unknown, ports: Array<{ port: number, endPort?: number, protocol: string }> }>
  const allows = (port: number, protocol = 'TCP') => rules.some(r => r.ports.some(p => p.protocol === protocol && p.port <= port && port <= (p.endPort ?? p.port)))
  t.ok(allows(443), 'HTTPS to partners')
  t.ok(allows(53, 'UDP') && allows(53), 'DNS')
  const brokerPorts = (find('ConfigMap', 'rewards-config')?.data?.REWARDS_KAFKA_BROKERS ?? '').split(',').map(b => Number(b.split(':').pop()))
  t.ok(brokerPorts.length > 0 && brokerPorts.every(p => allows(p)), `the ConfigMap's brokers (${brokerPorts.join(', ')})`)
  for (const port of [9094, 9096, 9098]) t.ok(allows(port), `MSK's TLS/SASL port ${port}`)
  t.notOk(allows(5432) || allows(6379) || allows(80), 'nothing else: no database, no Redis, no plain HTTP')
})

t.test('Kafka SASL credentials: every Kafka workload reads them from an optional Secret', async t => {
  const kafkaSecret = exampleSecrets.get('rewards-kafka-credentials') ?? {}
  t.same(Object.keys(kafkaSecret).sort(), ['REWARDS_KAFKA_SASL_PASSWORD', 'REWARDS_KAFKA_SASL_USERNAME'])
  const workloads = objects.filter(o => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind))
  const talksToKafka = (args: string[]) => args[0] === 'topics' || (args[0] === 'start' && args[2] !== 'auth')
  t.same(workloads.filter(o => talksToKafka(podSpec(o)?.containers[0]?.args ?? [])).map(o => o.metadata.name).sort(),
    ['rewards-api', 'rewards-archiver', 'rewards-create-topics', 'rewards-notifications', 'rewards-processor'])
  for (const workload of workloads) {
    const container = podSpec(workload)?.containers[0]
    const sasl = (container?.env ?? []).filter(e => e.name.startsWith('REWARDS_KAFKA_SASL_'))
    if (!talksToKafka(container?.args ?? [])) {
      t.same(sasl, [], `${workload.metadata.name}: no Kafka, no Kafka credentials`)
      continue
    }
    t.same(sasl.map(e => ({ name: e.name, ref: e.valueFrom?.secretKeyRef })).sort((a, b) => a.name.localeCompare(b.name)), Object.keys(kafkaSecret).sort().map(key => ({ name: key, ref: { name: 'rewards-kafka-credentials', key, optional: true } })),
      `${workload.metadata.name}: username and password from rewards-kafka-credentials, optional (a plaintext broker needs no Secret)`)
  }
})

t.test('pods: probes, configuration, restricted security', async t => {
  const appSecrets = ['rewards-secrets', 'rewards-kafka-credentials']
  const secretKeys = appSecrets.flatMap(name => Object.keys(exampleSecrets.get(name) ?? {}))
  t.ok(secretKeys.includes('REWARDS_DATABASE_URL'), 'the example Secrets are read')
  const configKeys = Object.keys(find('ConfigMap', 'rewards-config')?.data ?? {})
  t.ok([...configKeys, ...secretKeys].every(k => k.startsWith('REWARDS_')), 'only REWARDS_* configuration')
  // A name lib/config.ts does not know would be silently ignored by the app.
  const envNames = objects.flatMap(o => podSpec(o)?.containers.flatMap(c => (c.env ?? []).map(e => e.name)) ?? [])
  const unknown = [...new Set([...configKeys, ...secretKeys, ...envNames])].filter(n => !SETTINGS.some(s => s.env === n))
  t.same(unknown, [], 'every variable the manifests set is one lib/config.ts reads')
  for (const workload of objects.filter(o => o.kind === 'Deployment' || o.kind === 'StatefulSet' || o.kind === 'Job')) {
    const pod = podSpec(workload)
    const container = pod?.containers[0]
    const name = workload.metadata.name
    if (workload.kind !== 'Job') {
      t.equal(container?.livenessProbe?.httpGet.path, '/health/live', `${name}: liveness`)
      t.equal(container?.readinessProbe?.httpGet.path, '/health/ready', `${name}: readiness`)
      const annotations = (workload.spec?.template as { metadata: { annotations: Record<string, string> } }).metadata.annotations
      t.equal(annotations['prometheus.io/port'], find('ConfigMap', 'rewards-config')?.data?.REWARDS_METRICS_PORT, `${name}: scraped on the metrics listener, not the public one`)
    }
    t.same(container?.envFrom?.[0], { configMapRef: { name: 'rewards-config' } }, `${name}: configured from the ConfigMap`)
    for (const env of container?.env ?? []) {
      const ref = env.valueFrom?.secretKeyRef
      // Literal values only for file paths into mounted ConfigMaps (checked in the notifications test).
      if (env.name === 'REWARDS_NOTIFICATIONS_FILE') continue
      t.ok(ref !== undefined && Object.keys(exampleSecrets.get(ref.name) ?? {}).includes(ref.key), `${name}: ${env.name} from a Secret key secret.example.yaml shows`)
    }
    t.match(pod?.securityContext, { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } }, `${name}: non-root`)
    t.match(container?.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } }, `${name}: restricted, read-only root filesystem`)
    t.equal(pod?.automountServiceAccountToken, false, `${name}: no API token`)
    t.notMatch(container?.image ?? '', /:latest$/, `${name}: no floating tag`)
  }
})
