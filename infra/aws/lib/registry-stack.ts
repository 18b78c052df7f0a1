// Deployed once per account, before the environments: the image repository every environment
// pulls from, and the role GitHub Actions assumes (OIDC, no stored keys) to push images and run
// `cdk diff`/`cdk deploy` through the CDK bootstrap roles.
import { CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib'
import type { StackProps } from 'aws-cdk-lib'
import * as ecr from 'aws-cdk-lib/aws-ecr'
import * as iam from 'aws-cdk-lib/aws-iam'
import type { Construct } from 'constructs'
import { acknowledge } from './acknowledge.ts'

export const repositoryName = 'rewards'

export interface RegistryStackProps extends StackProps {
  /** owner/name of the GitHub repository whose workflows may push and deploy. */
  githubRepository: string
}

export class RegistryStack extends Stack {
  readonly repository: ecr.Repository
  readonly deployRole: iam.Role

  constructor (scope: Construct, id: string, props: RegistryStackProps) {
    super(scope, id, props)
    this.repository = new ecr.Repository(this, 'Images', {
      repositoryName,
      imageScanOnPush: true,
      // Tags are git commit SHAs; a deployed tag always means the same image.
      imageTagMutability: ecr.TagMutability.IMMUTABLE,
      encryption: ecr.RepositoryEncryption.KMS,
      lifecycleRules: [
        { description: 'untagged layers', tagStatus: ecr.TagStatus.UNTAGGED, maxImageAge: Duration.days(7) },
        { description: 'keep the last 100 images', maxImageCount: 100 }
      ],
      removalPolicy: RemovalPolicy.RETAIN
    })

    const github = new iam.OidcProviderNative(this, 'GitHubOidc', {
      url: 'https://token.actions.githubusercontent.com',
      clientIds: ['sts.amazonaws.com']
    })
    this.deployRole = new iam.Role(this, 'GitHubDeployRole', {
      description: 'Assumed by the CI workflow of the rewards repository: push images, run CDK',
      maxSessionDuration: Duration.hours(1),
      assumedBy: new iam.WebIdentityPrincipal(github.oidcProviderArn, {
        StringEquals: { 'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com' },
        // Only the main branch and the deployment environments of this repository.
        StringLike: {
          'token.actions.githubusercontent.com:sub': [
            `repo:${props.githubRepository}:ref:refs/heads/main`,
            `repo:${props.githubRepository}:environment:*`
          ]
        }
      })
    })
    this.repository.grantPullPush(this.deployRole)
    // ecr:GetAuthorizationToken has no resource-level permission (AWS requires "*").
    this.deployRole.addToPolicy(new iam.PolicyStatement({
      actions: ['sts:AssumeRole'],
      resources: [`arn:${this.partition}:iam::${this.account}:role/cdk-hnb659fds-*-role-${this.account}-*`]
    }))

    acknowledge(this.deployRole, [
      { id: 'AwsSolutions-IAM5[Resource::*]', reason: 'ecr:GetAuthorizationToken (needed to push) has no resource-level permissions; the push and pull actions are scoped to the rewards repository.' },
      { id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/cdk-hnb659fds-*-role-<AWS::AccountId>-*]', reason: 'CI runs `cdk diff`/`cdk deploy` by assuming the CDK bootstrap roles of this account (deploy, file-publishing, lookup); their names end in the region, hence the wildcard.' }
    ])

    new CfnOutput(this, 'RepositoryUri', { value: this.repository.repositoryUri })
    new CfnOutput(this, 'DeployRoleArn', { value: this.deployRole.roleArn })
  }
}
