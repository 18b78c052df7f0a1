// The Kubernetes manifests of infra/k8s, validated against the Kubernetes API schemas shipped by
// `kubernetes-models` (each object through its kind's model), plus what the platform needs from
// them: processor as a StatefulSet with a volume per pod, API with an HPA, every workload with a
// PodDisruptionBudget, live/ready probes, configuration only from the ConfigMap/Secret, and the
// restricted security context the Dockerfile's non-root user allows.
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { SETTINGS } from '../../lib/config.ts'
import { repoRoot } from './dockerfile.ts'
import { loadValidator, strictValidate } from './k8s-strict.ts'

interface K8sObject { apiVersion: string, kind: string, metadata: { name: string, namespace?: string }, spec?: Record<string, unknown>, data?: Record<string, string> }
interface Container { args: string[], envFrom?: unknown[], env?: Array<{ name: string, valueFrom?: { secretKeyRef?: { key: string } } }>, readinessProbe?: { httpGet: { path: string } }, livenessProbe?: { httpGet: { path: string } }, securityContext: Record<string, unknown>, image: string }
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

t.test('API: Deployment with an HPA; archiver and auth Deployments; a PDB for each', async t => {
  const hpa = find('HorizontalPodAutoscaler', 'rewards-api')
  t.same((hpa?.spec as { scaleTargetRef: unknown }).scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'rewards-api' })
  for (const [kind, name, role] of [['StatefulSet', 'rewards-processor', 'processor'], ['Deployment', 'rewards-api', 'api'], ['Deployment', 'rewards-archiver', 'archiver'], ['Deployment', 'rewards-auth', 'auth']] as const) {
    const workload = find(kind, name)
    t.ok(workload, `${kind} ${name}`)
    t.same(podSpec(workload)?.containers[0]?.args, ['start', '--role', role], `${name}: one image, role by argument`)
    const pdb = find('PodDisruptionBudget', name)
    t.same((pdb?.spec as { selector: unknown }).selector, (workload?.spec as { selector: unknown }).selector, `${name}: PDB selects its pods`)
  }
})

t.test('pods: probes, configuration, restricted security', async t => {
  const secretKeys = Object.keys((parseAllDocuments(readFileSync(join(dir, 'secret.example.yaml'), 'utf8'))[0]?.toJS() as { stringData: Record<string, string> }).stringData)
  const configKeys = Object.keys(find('ConfigMap', 'rewards-config')?.data ?? {})
  t.ok([...configKeys, ...secretKeys].every(k => k.startsWith('REWARDS_')), 'only REWARDS_* configuration')
  // A name lib/config.ts does not know would be silently ignored by the app.
  const envNames = objects.flatMap(o => podSpec(o)?.containers.flatMap(c => (c.env ?? []).map(e => e.name)) ?? [])
  const unknown = [...new Set([...configKeys, ...secretKeys, ...envNames])].filter(n => !SETTINGS.some(s => s.env === n))
  t.same(unknown, [], 'every variable the manifests set is one lib/config.ts reads')
  for (const workload of objects.filter(o => o.kind === 'Deployment' || o.kind === 'StatefulSet')) {
    const pod = podSpec(workload)
    const container = pod?.containers[0]
    const name = workload.metadata.name
    t.equal(container?.livenessProbe?.httpGet.path, '/health/live', `${name}: liveness`)
    t.equal(container?.readinessProbe?.httpGet.path, '/health/ready', `${name}: readiness`)
    t.same(container?.envFrom, [{ configMapRef: { name: 'rewards-config' } }], `${name}: configured from the ConfigMap`)
    for (const env of container?.env ?? []) t.ok(secretKeys.includes(env.valueFrom?.secretKeyRef?.key ?? ''), `${name}: ${env.name} from the Secret`)
    t.match(pod?.securityContext, { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } }, `${name}: non-root`)
    t.match(container?.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } }, `${name}: restricted`)
    t.equal(pod?.automountServiceAccountToken, false, `${name}: no API token`)
    const annotations = (workload.spec?.template as { metadata: { annotations: Record<string, string> } }).metadata.annotations
    t.equal(annotations['prometheus.io/port'], find('ConfigMap', 'rewards-config')?.data?.REWARDS_METRICS_PORT, `${name}: scraped on the metrics listener, not the public one`)
    t.notMatch(container?.image ?? '', /:latest$/, `${name}: no floating tag`)
  }
})
