// The low-level topology, like Kafka Streams' Topology: sources, processors, sinks and state
// stores wired by name. The DSL (streams-builder.ts, dsl/) compiles to this. validate() runs when a
// runtime (StreamsApplication, TopologyTestDriver) takes the topology, and rejects unknown
// parents or stores, duplicate names, cycles and a topic read by two sources.
import type { LogRecord } from '../log/log-port.ts'
import type { ProcessorSupplier } from './processor/processor.ts'
import type { StoreDefinition } from '../stores/key-value-store.ts'
import { StreamsError } from './streams-error.ts'
import type { Serde } from './serdes.ts'

/** Event time of a record, in ms since the epoch; null when the record has no valid event time
 *  (Kafka Streams' TimestampExtractor returns a negative value for that and drops the record).
 *  Here such a record is still processed — a topology sends it to its dead-letter topic — but it
 *  has no place in event-time order: it does not move stream time, does not fire STREAM_TIME
 *  punctuations, and is taken as soon as it heads its partition's queue, so a bad record stamped
 *  with the wall clock can neither advance the task's clocks nor hold back the records around it
 *  (docs/engine.md, "Event time"). Its processors see the record's own timestamp. */
export type TimestampExtractor = (record: LogRecord) => number | null

/** Chooses a sink's topic per record (like Kafka Streams' TopicNameExtractor). */
export type TopicNameExtractor<K, V> = (key: K, value: V) => string

export interface SourceOptions<K, V> {
  readonly topics: string[]
  readonly keySerde: Serde<K>
  readonly valueSerde: Serde<V>
  /** Event time of a record; default: the record's timestamp. */
  readonly timestampExtractor?: TimestampExtractor
}

export interface SinkOptions<K, V> {
  readonly keySerde: Serde<K>
  readonly valueSerde: Serde<V>
}

/* eslint-disable @typescript-eslint/no-explicit-any -- nodes of one graph carry records of
   different types; each node's own builder call is typed, the graph itself cannot be. */
export interface SourceNode {
  readonly kind: 'source'
  readonly name: string
  readonly topics: string[]
  readonly keySerde: Serde<any>
  readonly valueSerde: Serde<any>
  readonly timestampExtractor: TimestampExtractor | undefined
  readonly children: string[]
}

export interface ProcessorNode {
  readonly kind: 'processor'
  readonly name: string
  readonly supplier: ProcessorSupplier<any, any, any, any>
  readonly parents: string[]
  readonly children: string[]
  readonly stores: string[]
}

export interface SinkNode {
  readonly kind: 'sink'
  readonly name: string
  readonly topic: string | TopicNameExtractor<any, any>
  readonly keySerde: Serde<any>
  readonly valueSerde: Serde<any>
  readonly parents: string[]
}

export type TopologyNode = SourceNode | ProcessorNode | SinkNode
export type AnyStoreDefinition = StoreDefinition<any, any>
/* eslint-enable @typescript-eslint/no-explicit-any */

/** A topic the application creates and owns: a repartition topic (docs/engine.md "Repartition
 *  topics"). Declared by its short name; a runtime takes the topology through withApplicationId(),
 *  which names it `<applicationId>-<name>` as Kafka Streams does. */
export interface InternalTopic {
  readonly name: string
  /** Fixed partition count (Repartitioned's); default: computed at start from the sub-topology
   *  that writes it, or from the topics it must be co-partitioned with. */
  readonly partitions?: number
}

/** A global store (docs/engine.md "Global tables"): a full copy of every partition of `topic` on
 *  every instance, kept by the global updater (runtime/global-state-updater.ts), outside every
 *  sub-topology. Its key and value serdes read the topic and the store alike. */
export interface GlobalStoreSpec {
  readonly topic: string
  readonly definition: AnyStoreDefinition
}

/** A connected part of the graph: its sources are co-partitioned and one task per partition runs it. */
export interface Subtopology {
  readonly id: number
  readonly nodes: string[]
  readonly sourceTopics: string[]
  readonly stores: string[]
}

function invalid (message: string): never {
  throw new StreamsError('TOPOLOGY_INVALID', message)
}

export class Topology {
  readonly #nodes = new Map<string, TopologyNode>()
  readonly #stores = new Map<string, { definition: AnyStoreDefinition, processors: string[] }>()
  readonly #internalTopics = new Map<string, InternalTopic>()
  readonly #globalStores = new Map<string, GlobalStoreSpec>()
  /** Set on the copy withApplicationId() returns: its internal topic names are final. */
  #applicationId: string | undefined

  /** Declares a topic the application creates (a repartition topic); sources and sinks name it
   *  by `name` before withApplicationId(). */
  addInternalTopic (name: string, options: { partitions?: number } = {}): this {
    if (this.#internalTopics.has(name)) invalid(`internal topic "${name}" is declared twice (give the operation another name)`)
    if (!/^[A-Za-z0-9._-]+$/.test(name)) invalid(`internal topic name "${name}" may use only letters, digits, ".", "_" and "-"`)
    if (options.partitions !== undefined && !(Number.isInteger(options.partitions) && options.partitions >= 1)) invalid(`internal topic "${name}": partitions must be a positive integer, got ${options.partitions}`)
    this.#internalTopics.set(name, { name, ...(options.partitions === undefined ? {} : { partitions: options.partitions }) })
    return this
  }

  internalTopics (): InternalTopic[] {
    return [...this.#internalTopics.values()]
  }

  isInternalTopic (topic: string): boolean {
    return this.#internalTopics.has(topic)
  }

  /** The topology as an application runs it: internal topics renamed `<applicationId>-<name>`
   *  in their declarations, sources and sinks. The same topology when it has none. */
  withApplicationId (applicationId: string): Topology {
    if (this.#applicationId === applicationId || this.#internalTopics.size === 0) return this
    if (this.#applicationId !== undefined) invalid(`this topology's internal topics are already named for application "${this.#applicationId}"`)
    const rename = (topic: string): string => this.#internalTopics.has(topic) ? `${applicationId}-${topic}` : topic
    const copy = new Topology()
    copy.#applicationId = applicationId
    for (const [name, node] of this.#nodes) {
      if (node.kind === 'source') copy.#nodes.set(name, { ...node, topics: node.topics.map(rename), children: [...node.children] })
      else if (node.kind === 'sink') copy.#nodes.set(name, { ...node, topic: typeof node.topic === 'string' ? rename(node.topic) : node.topic, parents: [...node.parents] })
      else copy.#nodes.set(name, { ...node, parents: [...node.parents], children: [...node.children], stores: [...node.stores] })
    }
    for (const [name, store] of this.#stores) copy.#stores.set(name, { definition: store.definition, processors: [...store.processors] })
    for (const topic of this.#internalTopics.values()) copy.#internalTopics.set(rename(topic.name), { ...topic, name: rename(topic.name) })
    for (const [name, global] of this.#globalStores) copy.#globalStores.set(name, global)
    return copy
  }

  addSource<K, V> (name: string, options: SourceOptions<K, V>): this {
    this.#checkNewName(name)
    if (options.topics.length === 0) invalid(`source "${name}" has no topics`)
    for (const topic of options.topics) {
      const owner = this.sourceNodes().find(s => s.topics.includes(topic))
      if (owner) invalid(`topic "${topic}" is already read by source "${owner.name}"; a topic can have only one source`)
    }
    this.#nodes.set(name, {
      kind: 'source', name, topics: [...options.topics], keySerde: options.keySerde, valueSerde: options.valueSerde,
      timestampExtractor: options.timestampExtractor, children: []
    })
    return this
  }

  addProcessor<KIn, VIn, KOut, VOut> (name: string, supplier: ProcessorSupplier<KIn, VIn, KOut, VOut>, ...parents: string[]): this {
    this.#checkNewName(name)
    if (parents.length === 0) invalid(`processor "${name}" needs at least one parent`)
    this.#nodes.set(name, { kind: 'processor', name, supplier, parents: [...parents], children: [], stores: [] })
    this.#linkParents(name, parents)
    return this
  }

  addSink<K, V> (name: string, topic: string | TopicNameExtractor<K, V>, options: SinkOptions<K, V>, ...parents: string[]): this {
    this.#checkNewName(name)
    if (parents.length === 0) invalid(`sink "${name}" needs at least one parent`)
    this.#nodes.set(name, { kind: 'sink', name, topic, keySerde: options.keySerde, valueSerde: options.valueSerde, parents: [...parents] })
    this.#linkParents(name, parents)
    return this
  }

  /** Declares a store and connects it to processors (more can be connected later). */
  addStateStore<K, V> (definition: StoreDefinition<K, V>, ...processorNames: string[]): this {
    if (this.#stores.has(definition.name) || this.#globalStores.has(definition.name)) invalid(`state store "${definition.name}" is declared twice`)
    if (!/^[A-Za-z0-9._-]+$/.test(definition.name)) invalid(`state store name "${definition.name}" may use only letters, digits, ".", "_" and "-" (it names a topic and a directory)`)
    this.#stores.set(definition.name, { definition, processors: [] })
    for (const processor of processorNames) this.#connect(processor, definition.name)
    return this
  }

  /** Declares a global store read from `topic` (any processor may read it: no connection). */
  addGlobalStore (spec: GlobalStoreSpec): this {
    const name = spec.definition.name
    if (this.#stores.has(name) || this.#globalStores.has(name)) invalid(`state store "${name}" is declared twice`)
    if (!/^[A-Za-z0-9._-]+$/.test(name)) invalid(`state store name "${name}" may use only letters, digits, ".", "_" and "-" (it names a directory)`)
    if ([...this.#globalStores.values()].some(g => g.topic === spec.topic)) invalid(`topic "${spec.topic}" is already read by a global table`)
    this.#globalStores.set(name, spec)
    return this
  }

  globalStores (): GlobalStoreSpec[] {
    return [...this.#globalStores.values()]
  }

  globalStore (name: string): GlobalStoreSpec | undefined {
    return this.#globalStores.get(name)
  }

  connectProcessorAndStateStores (processorName: string, ...storeNames: string[]): this {
    for (const store of storeNames) this.#connect(processorName, store)
    return this
  }

  /** Adds a parent -> child edge after both exist (also how a cycle could be made; validate() rejects it). */
  connect (parentName: string, childName: string): this {
    const child = this.#nodes.get(childName)
    if (!child) invalid(`unknown node "${childName}"`)
    if (child.kind === 'source') invalid(`source "${childName}" cannot have a parent`)
    child.parents.push(parentName)
    this.#linkParents(childName, [parentName])
    return this
  }

  node (name: string): TopologyNode | undefined {
    return this.#nodes.get(name)
  }

  nodes (): TopologyNode[] {
    return [...this.#nodes.values()]
  }

  sourceNodes (): SourceNode[] {
    return this.nodes().filter((n): n is SourceNode => n.kind === 'source')
  }

  storeDefinitions (): AnyStoreDefinition[] {
    return [...this.#stores.values()].map(s => s.definition)
  }

  storeDefinition (name: string): AnyStoreDefinition | undefined {
    return this.#stores.get(name)?.definition
  }

  storeProcessors (name: string): string[] {
    return [...(this.#stores.get(name)?.processors ?? [])]
  }

  sourceTopics (): string[] {
    return this.sourceNodes().flatMap(s => s.topics)
  }

  /** Fixed sink topics (topic-name extractors excluded). */
  sinkTopics (): string[] {
    return [...new Set(this.nodes().flatMap(n => n.kind === 'sink' && typeof n.topic === 'string' ? [n.topic] : []))]
  }

  /** Checks the whole graph; throws TOPOLOGY_INVALID naming the problem. */
  validate (): void {
    if (this.sourceNodes().length === 0) invalid('the topology has no source')
    for (const node of this.#nodes.values()) {
      if (node.kind === 'source') continue
      for (const parent of node.parents) {
        const p = this.#nodes.get(parent)
        if (!p) invalid(`node "${node.name}" names unknown parent "${parent}"`)
        if (p.kind === 'sink') invalid(`sink "${parent}" cannot be the parent of "${node.name}"`)
      }
    }
    for (const topic of this.#internalTopics.keys()) {
      const writers = this.nodes().filter(n => n.kind === 'sink' && n.topic === topic)
      if (writers.length === 0 || !this.sourceTopics().includes(topic)) invalid(`internal topic "${topic}" needs a sink writing it and a source reading it`)
    }
    for (const [name, store] of this.#stores) {
      if (store.processors.length === 0) invalid(`state store "${name}" is not connected to any processor`)
    }
    for (const global of this.#globalStores.values()) {
      if (this.sourceTopics().includes(global.topic)) invalid(`topic "${global.topic}" is read by a global table and by a source; a topic can have only one reader`)
    }
    this.#checkAcyclic()
  }

  /** Connected components: stores join the processors that share them. */
  subtopologies (): Subtopology[] {
    const parent = new Map<string, string>()
    const find = (x: string): string => {
      let root = x
      while (parent.get(root) !== root) root = parent.get(root)!
      parent.set(x, root)
      return root
    }
    const union = (a: string, b: string): void => { parent.set(find(a), find(b)) }
    for (const name of this.#nodes.keys()) parent.set(name, name)
    for (const node of this.#nodes.values()) {
      if (node.kind !== 'source') for (const p of node.parents) if (parent.has(p)) union(node.name, p)
    }
    for (const store of this.#stores.values()) {
      for (const p of store.processors.slice(1)) union(store.processors[0]!, p)
    }
    const groups = new Map<string, string[]>()
    for (const name of this.#nodes.keys()) {
      const root = find(name)
      groups.set(root, [...(groups.get(root) ?? []), name])
    }
    // Stable order: by the position of each group's first node in declaration order.
    return [...groups.values()].map((nodes, id) => {
      const sourceTopics = nodes.flatMap(n => { const node = this.#nodes.get(n)!; return node.kind === 'source' ? node.topics : [] })
      const stores = [...this.#stores.entries()].filter(([, s]) => s.processors.some(p => nodes.includes(p))).map(([name]) => name)
      return { id, nodes, sourceTopics, stores }
    })
  }

  #checkNewName (name: string): void {
    if (!name) invalid('a node needs a name')
    if (this.#nodes.has(name)) invalid(`node name "${name}" is used twice`)
  }

  #linkParents (child: string, parents: string[]): void {
    for (const parentName of parents) {
      const parent = this.#nodes.get(parentName)
      if (!parent) invalid(`node "${child}" names unknown parent "${parentName}"`)
      if (parent.kind === 'sink') invalid(`sink "${parentName}" cannot be the parent of "${child}"`)
      parent.children.push(child)
    }
  }

  #connect (processorName: string, storeName: string): void {
    if (!processorName) return
    const node = this.#nodes.get(processorName)
    if (!node) invalid(`state store "${storeName}" is connected to unknown processor "${processorName}"`)
    if (node.kind !== 'processor') invalid(`state store "${storeName}" can only be connected to a processor, not ${node.kind} "${processorName}"`)
    const store = this.#stores.get(storeName)
    if (!store) invalid(`processor "${processorName}" uses unknown state store "${storeName}"`)
    if (!store.processors.includes(processorName)) store.processors.push(processorName)
    if (!node.stores.includes(storeName)) node.stores.push(storeName)
  }

  #checkAcyclic (): void {
    const state = new Map<string, 'visiting' | 'done'>()
    const visit = (name: string, path: string[]): void => {
      const s = state.get(name)
      if (s === 'done') return
      if (s === 'visiting') invalid(`the topology has a cycle: ${[...path, name].join(' -> ')}`)
      state.set(name, 'visiting')
      const node = this.#nodes.get(name)
      if (node && node.kind !== 'sink') for (const child of node.children) visit(child, [...path, name])
      state.set(name, 'done')
    }
    for (const name of this.#nodes.keys()) visit(name, [])
  }
}
