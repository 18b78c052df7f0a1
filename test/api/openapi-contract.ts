// Checks a live HTTP answer against the OpenAPI document the server publishes: the status must be
// documented for the operation, the content type must be one the response lists (or no body when
// it lists none), the body must match the schema (the document's own schemas compiled with AJV
// 2020-12 in strict mode, no coercion, no defaults, no removal), and every required header must be
// there and match its schema. Returns what is wrong, in words (empty: the answer is as documented).
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'

// ajv-formats is CommonJS: its default export is the function under ESM.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void

type Json = Record<string, unknown>

export interface LiveAnswer {
  readonly status: number
  readonly headers: Headers
  readonly text: string
}

const SCHEMA_ID = 'urn:rewards-openapi:schemas:'

function rewriteRefs (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs)
  if (value === null || typeof value !== 'object') return value
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [
    key,
    key === '$ref' && typeof inner === 'string' && inner.startsWith('#/components/schemas/') ? `${SCHEMA_ID}${inner.slice('#/components/schemas/'.length)}` : rewriteRefs(inner)
  ]))
}

export class OpenApiContract {
  readonly #doc: Json
  readonly #ajv: Ajv2020
  readonly #compiled = new Map<unknown, ValidateFunction>()

  constructor (doc: Json) {
    this.#doc = doc
    this.#ajv = new Ajv2020({ strict: true, coerceTypes: false, useDefaults: false, removeAdditional: false, allErrors: true })
    addFormats(this.#ajv)
    const components = (doc.components as { schemas?: Record<string, unknown> } | undefined)?.schemas ?? {}
    for (const [name, schema] of Object.entries(components)) this.#ajv.addSchema(rewriteRefs(schema) as Json, `${SCHEMA_ID}${name}`)
  }

  /** Every (method, path, status) the document lists, e.g. `GET /v1/members/{memberId}/balance 200`. */
  documented (): string[] {
    const out: string[] = []
    for (const [path, item] of Object.entries(this.#doc.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>)) {
      for (const [method, op] of Object.entries(item)) for (const status of Object.keys(op.responses)) out.push(`${method.toUpperCase()} ${path} ${status}`)
    }
    return out
  }

  #resolve (value: unknown): Json {
    let node = value as Json
    while (typeof node.$ref === 'string') {
      node = (node.$ref).slice(2).split('/').reduce<unknown>((at, part) => (at as Json)[part], this.#doc) as Json
    }
    return node
  }

  #validator (schema: unknown): ValidateFunction {
    let validate = this.#compiled.get(schema)
    if (validate === undefined) {
      validate = this.#ajv.compile(rewriteRefs(schema) as Json)
      this.#compiled.set(schema, validate)
    }
    return validate
  }

  check (method: string, path: string, answer: LiveAnswer): string[] {
    const operation = (this.#doc.paths as Record<string, Record<string, { responses: Record<string, unknown> } | undefined> | undefined>)[path]?.[method.toLowerCase()]
    if (operation === undefined) return [`${method} ${path} is not in the document`]
    const documented = operation.responses[String(answer.status)]
    if (documented === undefined) return [`status ${answer.status} is not documented for ${method} ${path} (documented: ${Object.keys(operation.responses).join(', ')})`]
    const response = this.#resolve(documented)
    const wrong: string[] = []

    for (const [name, spec] of Object.entries((response.headers ?? {}) as Record<string, unknown>)) {
      const header = this.#resolve(spec)
      const value = answer.headers.get(name)
      if (value === null) {
        if (header.required === true) wrong.push(`header ${name} is missing`)
        continue
      }
      if (header.schema !== undefined && !this.#validator(header.schema)(value)) wrong.push(`header ${name}: ${JSON.stringify(value)} does not match its schema`)
    }

    const content = response.content as Record<string, { schema?: unknown }> | undefined
    const type = (answer.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
    if (content === undefined) {
      if (answer.text !== '') wrong.push(`a body where none is documented (${answer.text.slice(0, 80)})`)
      return wrong
    }
    const media = content[type]
    if (media === undefined) return [...wrong, `content type ${JSON.stringify(type)} is not documented (documented: ${Object.keys(content).join(', ')})`]
    let body: unknown
    try {
      body = JSON.parse(answer.text)
    } catch {
      return [...wrong, `the body is not JSON: ${answer.text.slice(0, 80)}`]
    }
    if (media.schema !== undefined) {
      const validate = this.#validator(media.schema)
      if (!validate(body)) wrong.push(`the body does not match the schema: ${this.#ajv.errorsText(validate.errors)}`)
    }
    return wrong
  }
}
