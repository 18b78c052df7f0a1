// The CDK app: `npx cdk synth|diff|deploy -c env=dev|staging|prod -c imageTag=<sha>` from
// infra/aws (cdk.json runs this file on the project's Node 24). No AWS look-ups: synth works
// offline. cdk-nag's AwsSolutions checks run on every synth; a finding fails it.
import { App, Validations } from 'aws-cdk-lib'
import { AwsSolutionsChecks } from 'cdk-nag'
import { buildApp } from '../lib/build-app.ts'

const app = new App()
buildApp(app, {
  env: app.node.tryGetContext('env') as string | undefined,
  imageTag: app.node.tryGetContext('imageTag') as string | undefined,
  certificateArn: app.node.tryGetContext('certificateArn') as string | undefined,
  githubRepository: app.node.tryGetContext('githubRepository') as string | undefined,
  region: app.node.tryGetContext('region') as string | undefined,
  notificationsFile: app.node.tryGetContext('notificationsFile') as string | undefined
})
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }))
app.synth()
