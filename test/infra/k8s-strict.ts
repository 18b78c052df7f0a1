// Unknown-field detection for Kubernetes objects. The schemas kubernetes-models compiles (like the
// API's own OpenAPI) allow unknown properties, so a typo such as `replicaz` would pass. Here the
// compiled validator runs over a recording proxy: every property it looks up is a known field, and
// a property it never looked up (in an object whose keys it did not enumerate as a map) is unknown.

type ValidateFunction = ((data: unknown) => boolean) & { errors?: unknown[] | null }

export function schemaName (apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['core', apiVersion]
  const cap = (s: string | undefined) => (s ?? '').charAt(0).toUpperCase() + (s ?? '').slice(1)
  return `IoK8sApi${cap(group?.split('.')[0])}${cap(version)}${kind}`
}

export async function loadValidator (apiVersion: string, kind: string): Promise<ValidateFunction> {
  const module = await import(`kubernetes-models/_schemas/${schemaName(apiVersion, kind)}`) as { validate: ValidateFunction }
  return module.validate
}

/** Validates `object` and returns schema errors plus the paths of fields the schema does not know. */
export function strictValidate (validate: ValidateFunction, object: unknown): { errors: unknown[], unknownFields: string[] } {
  const looked = new Map<object, Set<PropertyKey> | 'map'>()
  const mark = (target: object, key: PropertyKey) => {
    const seen = looked.get(target)
    if (seen === 'map') return
    if (seen === undefined) looked.set(target, new Set([key]))
    else seen.add(key)
  }
  const proxies = new WeakMap<object, object>()
  const wrap = (value: unknown): unknown => {
    if (typeof value !== 'object' || value === null) return value
    const existing = proxies.get(value)
    if (existing !== undefined) return existing
    const proxy = new Proxy(value, {
      get: (target, key, receiver) => { mark(target, key); return wrap(Reflect.get(target, key, receiver)) },
      has: (target, key) => { mark(target, key); return Reflect.has(target, key) },
      ownKeys: target => { looked.set(target, 'map'); return Reflect.ownKeys(target) }
    })
    proxies.set(value, proxy)
    return proxy
  }
  validate(wrap(object))
  const unknownFields: string[] = []
  const walk = (value: unknown, path: string): void => {
    if (typeof value !== 'object' || value === null) return
    const seen = looked.get(value)
    for (const [key, child] of Object.entries(value)) {
      if (!Array.isArray(value) && seen !== 'map' && !(seen?.has(key) ?? false)) unknownFields.push(`${path}/${key}`)
      else walk(child, `${path}/${key}`)
    }
  }
  walk(object, '')
  return { errors: validate.errors ?? [], unknownFields }
}
