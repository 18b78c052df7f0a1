// The GitHub Actions workflow, validated against GitHub's own workflow schema with the parser of
// GitHub's Actions language service (@actions/workflow-parser), then checked for what the
// pipeline promises: lint, type-check, tests on real services, image to ECR on main, staging
// deploy, prod behind a manual approval, OIDC instead of stored AWS keys.
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { registerHooks } from 'node:module'
import { parse } from 'yaml'
import { repoRoot } from './dockerfile.ts'

// @actions/workflow-parser imports its schema JSON the bundler way (no `with { type: 'json' }`),
// which Node refuses; add the attribute for that package's JSON files only.
registerHooks({
  load (url, context, nextLoad) {
    const isParserJson = url.includes('/@actions/workflow-parser/') && url.endsWith('.json')
    return nextLoad(url, isParserJson ? { ...context, importAttributes: { type: 'json' } } : context)
  }
})
const { NoOperationTraceWriter, parseWorkflow } = await import('@actions/workflow-parser')

interface Step { uses?: string, run?: string, with?: Record<string, unknown>, 'working-directory'?: string }
interface Job { needs?: string[], if?: string, environment?: string, permissions?: Record<string, string>, services?: Record<string, unknown>, steps: Step[] }

const dir = join(repoRoot, '.github', 'workflows')
const workflowFiles = readdirSync(dir).filter(f => /\.ya?ml$/.test(f))
const text = readFileSync(join(dir, 'ci.yml'), 'utf8')
const workflow = parse(text) as { on: Record<string, unknown>, permissions: Record<string, string>, jobs: Record<string, Job> }
const jobs = workflow.jobs
const runs = (job: Job | undefined) => job?.steps.map(s => s.run ?? '').join('\n') ?? ''

t.test('every workflow file is valid against the GitHub Actions workflow schema', async t => {
  t.ok(workflowFiles.length > 0)
  for (const file of workflowFiles) {
    const content = readFileSync(join(dir, file), 'utf8')
    const result = parseWorkflow({ name: file, content }, new NoOperationTraceWriter())
    t.same(result.context.errors.getErrors().map(e => e.message), [], `${file} parses without errors`)
    t.ok(result.value, `${file} produced a workflow`)
  }
})

t.test('the validator catches mistakes (so a pass means something)', async t => {
  const broken = text.replace('runs-on: ubuntu-24.04\n    timeout-minutes: 15', 'runs-on: ubuntu-24.04\n    timeout-minutez: 15')
  const result = parseWorkflow({ name: 'broken.yml', content: broken }, new NoOperationTraceWriter())
  t.ok(result.context.errors.getErrors().length > 0, 'an unknown job key is an error')
})

t.test('lint, type-check and the whole test suite with its services', async t => {
  t.match(runs(jobs.check), /npm run typecheck/)
  t.match(runs(jobs.check), /npm run lint/)
  t.match(runs(jobs.test), /npm test/)
  t.same(Object.keys(jobs.test?.services ?? {}).sort(), ['postgres', 'redis'], 'PostgreSQL and Redis as services; the Kafka broker comes from infra/local/services.sh')
  const scripts = Object.keys((JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts)
  for (const [, script] of text.matchAll(/npm run ([\w:-]+)/g)) t.ok(scripts.includes(script ?? ''), `npm script ${script} exists`)
})

t.test('image: built on every run, pushed to ECR only from main', async t => {
  const build = jobs.image?.steps.find(s => s.uses?.startsWith('docker/build-push-action'))
  t.equal(build?.with?.file, 'infra/container/Dockerfile')
  t.match(String(build?.with?.push), /github\.ref == 'refs\/heads\/main'/)
  t.match(String(build?.with?.tags), /rewards:\$\{\{ steps\.tag\.outputs\.tag \}\}/)
})

t.test('deploys: staging on main, prod after staging behind the production environment', async t => {
  t.equal(jobs['deploy-staging']?.environment, 'staging')
  t.equal(jobs['deploy-prod']?.environment, 'production', 'required reviewers on this environment are the manual approval')
  t.ok(jobs['deploy-prod']?.needs?.includes('deploy-staging'), 'prod only after staging')
  for (const name of ['deploy-staging', 'deploy-prod']) {
    const job = jobs[name]
    t.match(job?.if, /github\.ref == 'refs\/heads\/main'/, `${name} only from main`)
    t.match(runs(job), /npx cdk diff/, `${name} shows the diff`)
    t.match(runs(job), /npx cdk deploy Rewards-(staging|prod) .*-c imageTag=\$\{\{ needs\.image\.outputs\.tag \}\}/, `${name} deploys the pushed image`)
    t.ok(job?.steps.every(s => s['working-directory'] === undefined || s['working-directory'] === 'infra/aws'))
  }
})

t.test('least privilege: read-only token by default, OIDC where AWS is needed, actions pinned', async t => {
  t.same(workflow.permissions, { contents: 'read' })
  for (const [name, job] of Object.entries(jobs)) {
    const usesAws = job.steps.some(s => s.uses?.startsWith('aws-actions/configure-aws-credentials'))
    t.equal(job.permissions?.['id-token'] === 'write', usesAws, `${name}: id-token only if it assumes the AWS role`)
    for (const step of job.steps.filter(s => s.uses !== undefined)) t.match(step.uses, /@(v\d+|[0-9a-f]{40})$/, `${name}: ${step.uses} pinned`)
  }
  t.notMatch(text, /AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY/, 'no long-lived AWS keys')
})
