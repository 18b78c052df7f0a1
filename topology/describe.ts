// Topology descriptions: a structured one (served by GET /v1/topology), a text rendering in
// Kafka Streams' format, and a Mermaid flowchart.
import type { Topology } from './topology.ts'

export interface NodeDescription {
  readonly name: string
  readonly kind: 'source' | 'processor' | 'sink'
  readonly topics?: string[]
  readonly topic?: string
  readonly stores?: string[]
  readonly predecessors: string[]
  readonly successors: string[]
}

export interface SubtopologyDescription {
  readonly id: number
  readonly nodes: NodeDescription[]
}

export interface StoreDescription {
  readonly name: string
  readonly kind: string
  readonly changelog: boolean
  readonly processors: string[]
}

export interface TopologyDescription {
  readonly subtopologies: SubtopologyDescription[]
  readonly stores: StoreDescription[]
  /** Global stores (docs/engine.md "Global tables"), present only when the topology has some. */
  readonly globalStores?: Array<{ readonly name: string, readonly kind: string, readonly topic: string }>
}

const DYNAMIC_TOPIC = '<topic chosen per record>'

export function describeTopology (topology: Topology): TopologyDescription {
  const subtopologies = topology.subtopologies().map(sub => ({
    id: sub.id,
    nodes: sub.nodes.map(name => {
      const node = topology.node(name)!
      switch (node.kind) {
        case 'source':
          return { name, kind: node.kind, topics: [...node.topics], predecessors: [], successors: [...node.children] }
        case 'processor':
          return { name, kind: node.kind, stores: [...node.stores], predecessors: [...node.parents], successors: [...node.children] }
        case 'sink':
          return { name, kind: node.kind, topic: typeof node.topic === 'string' ? node.topic : DYNAMIC_TOPIC, predecessors: [...node.parents], successors: [] }
      }
      throw new Error('unreachable')
    })
  }))
  const stores = topology.storeDefinitions().map(d => ({
    name: d.name, kind: d.kind, changelog: d.changelog, processors: topology.storeProcessors(d.name)
  }))
  const globalStores = topology.globalStores().map(g => ({ name: g.definition.name, kind: g.definition.kind, topic: g.topic }))
  return globalStores.length === 0 ? { subtopologies, stores } : { subtopologies, stores, globalStores }
}

/** The format of Kafka Streams' TopologyDescription#toString. */
export function describeAsText (description: TopologyDescription): string {
  const lines = ['Topologies:']
  for (const sub of description.subtopologies) {
    lines.push(`   Sub-topology: ${sub.id}`)
    for (const node of sub.nodes) {
      if (node.kind === 'source') lines.push(`    Source: ${node.name} (topics: [${node.topics!.join(', ')}])`)
      else if (node.kind === 'processor') lines.push(`    Processor: ${node.name} (stores: [${node.stores!.join(', ')}])`)
      else lines.push(`    Sink: ${node.name} (topic: ${node.topic})`)
      if (node.successors.length > 0) lines.push(`      --> ${node.successors.join(', ')}`)
      if (node.predecessors.length > 0) lines.push(`      <-- ${node.predecessors.join(', ')}`)
    }
  }
  // Kafka Streams prints a global store as a sub-topology that generates no tasks.
  for (const g of description.globalStores ?? []) {
    lines.push(`   Sub-topology: global store (will not generate tasks)`, `    Source: ${g.topic} (topics: [${g.topic}])`, `      --> ${g.name}`, `    Global store: ${g.name} (${g.kind})`)
  }
  return lines.join('\n') + '\n'
}

function mermaidId (prefix: string, name: string): string {
  return prefix + '_' + name.replace(/[^A-Za-z0-9_]/g, '_')
}

function mermaidLabel (text: string): string {
  return '"' + text.replace(/"/g, '#quot;') + '"'
}

/** A Mermaid flowchart: topics as stadiums, processors as boxes, stores as cylinders. */
export function describeAsMermaid (description: TopologyDescription): string {
  const lines = ['flowchart LR']
  const topics = new Set<string>()
  for (const sub of description.subtopologies) {
    lines.push(`  subgraph sub${sub.id}[${mermaidLabel(`Sub-topology ${sub.id}`)}]`)
    for (const node of sub.nodes) {
      lines.push(`    ${mermaidId('n', node.name)}[${mermaidLabel(`${node.kind}: ${node.name}`)}]`)
    }
    lines.push('  end')
    for (const node of sub.nodes) {
      const id = mermaidId('n', node.name)
      for (const s of node.successors) lines.push(`  ${id} --> ${mermaidId('n', s)}`)
      if (node.kind === 'source') {
        for (const topic of node.topics!) { topics.add(topic); lines.push(`  ${mermaidId('t', topic)} --> ${id}`) }
      }
      if (node.kind === 'sink') { topics.add(node.topic!); lines.push(`  ${id} --> ${mermaidId('t', node.topic!)}`) }
      for (const store of node.stores ?? []) lines.push(`  ${id} <-.-> ${mermaidId('s', store)}`)
    }
  }
  for (const topic of topics) lines.push(`  ${mermaidId('t', topic)}([${mermaidLabel(topic)}])`)
  for (const store of description.stores) lines.push(`  ${mermaidId('s', store.name)}[(${mermaidLabel(store.name)})]`)
  return lines.join('\n') + '\n'
}
