// The metric names a PromQL expression selects, read from Prometheus' own grammar
// (@prometheus-io/lezer-promql, the parser of the Prometheus UI) rather than with a regex: a
// function, label or keyword is never taken for a metric. Grafana's variables are replaced by
// values of the right kind first ($__rate_interval → 5m; $var inside a label value → .*).
import { parser } from '@prometheus-io/lezer-promql'

export interface ParsedPromQL {
  readonly metrics: string[]
  /** Each selector's metric and the label names its matchers use (`name{a="x", b=~"y"}`). */
  readonly selectors: Array<{ metric: string, labels: string[] }>
  /** Syntax errors, as "offset: text around it" (empty when the expression is valid). */
  readonly errors: string[]
}

export function grafanaToPromQL (expr: string): string {
  return expr
    .replace(/\$__(rate_interval|interval|range)\b/g, '5m')
    .replace(/\$\{[A-Za-z_][A-Za-z0-9_:]*\}|\$[A-Za-z_][A-Za-z0-9_]*/g, '.*')
}

export function parsePromQL (expr: string): ParsedPromQL {
  const tree = parser.parse(expr)
  const metrics = new Set<string>()
  const selectors: Array<{ metric: string, labels: string[] }> = []
  const errors: string[] = []
  tree.iterate({
    enter: node => {
      if (node.type.isError) errors.push(`${node.from}: ${JSON.stringify(expr.slice(Math.max(0, node.from - 20), node.to + 20))}`)
      // A metric name is the Identifier of a VectorSelector (`name{…}`); {__name__="…"} selectors
      // are not used in the shipped rules.
      if (node.type.name === 'Identifier' && node.node.parent?.type.name === 'VectorSelector') metrics.add(expr.slice(node.from, node.to))
      if (node.type.name === 'VectorSelector') {
        const name = node.node.getChild('Identifier')
        if (name === null) return
        const labels: string[] = []
        const matchers = node.node.getChild('LabelMatchers')
        matchers?.toTree().iterate({
          enter: inner => {
            if (inner.type.name === 'LabelName') labels.push(expr.slice(matchers.from + inner.from, matchers.from + inner.to))
          }
        })
        selectors.push({ metric: expr.slice(name.from, name.to), labels })
      }
    }
  })
  return { metrics: [...metrics], selectors, errors }
}
