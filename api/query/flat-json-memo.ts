// The JSON text of flat records read again and again (a member's balance on every balance query),
// kept per key with the record it was made from: a record read again whose properties are the
// same, in the same order, with the same primitive values, gets the same text (the same string:
// the ETag memo of api/routes/conditional-get.ts then finds it at once) without JSON.stringify.
// Anything else (a changed value, a new property, a nested object) is serialized again; the text
// is always exactly JSON.stringify(record). Bounded: the oldest key is dropped beyond `max`.
type Flat = Readonly<Record<string, unknown>>

interface Entry { readonly keys: string[], readonly values: unknown[], readonly text: string }

export class FlatJsonMemo {
  readonly #entries = new Map<string, Entry>()
  readonly #max: number

  constructor (max = 4096) {
    this.#max = max
  }

  text (key: string, record: Flat): string {
    const entry = this.#entries.get(key)
    if (entry !== undefined && sameFlat(record, entry)) return entry.text
    const text = JSON.stringify(record)
    const keys: string[] = []
    const values: unknown[] = []
    for (const name in record) {
      const value = record[name]
      // Only primitives are compared by value; a record holding an object is never reused.
      if (value !== null && typeof value === 'object') return text
      keys.push(name)
      values.push(value)
    }
    if (entry === undefined && this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value!)
    this.#entries.set(key, { keys, values, text })
    return text
  }
}

function sameFlat (record: Flat, entry: Entry): boolean {
  let i = 0
  for (const name in record) {
    if (name !== entry.keys[i] || record[name] !== entry.values[i]) return false
    i++
  }
  return i === entry.keys.length
}
