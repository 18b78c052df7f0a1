// cdk-nag findings acknowledged on purpose: each with its reason, next to the resource it is about.
// (cdk-nag v3 uses CDK's own policy validation; an acknowledgment covers the construct's subtree.)
import { Validations } from 'aws-cdk-lib'
import type { IConstruct } from 'constructs'

export interface Acknowledgment { id: string, reason: string }

export function acknowledge (scopes: IConstruct | IConstruct[], acknowledgments: Acknowledgment[]): void {
  for (const scope of Array.isArray(scopes) ? scopes : [scopes]) {
    for (const { id, reason } of acknowledgments) {
      if (reason.length < 40) throw new Error(`acknowledging ${id} needs a real reason, not ${JSON.stringify(reason)}`)
      Validations.of(scope).acknowledge({ id, reason })
    }
  }
}
