// Evaluates a CloudWatch Logs JSON filter pattern (`{ ($.a = "x") && ($.b = "*") }`) against a log
// line, offline, so tests can check that a metric filter the stack deploys matches the lines the
// app really writes. The subset CDK's FilterPattern renders: selectors `$.a.b`, comparisons
// = != < > <= >=, values "string" (with * wildcards; "*" alone: the field exists), numbers, true,
// false, null, groups with ( ), && and ||. Anything else throws (never silently "no match").

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

const TOKEN = /\s*(\(|\)|&&|\|\||!=|<=|>=|=|<|>|\$(?:\.[A-Za-z0-9_]+|\[\d+\])+|"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null|\*)/y

function tokenize (text: string): string[] {
  const tokens: string[] = []
  TOKEN.lastIndex = 0
  while (TOKEN.lastIndex < text.length) {
    if (/^\s*$/.test(text.slice(TOKEN.lastIndex))) break
    const at = TOKEN.lastIndex
    const match = TOKEN.exec(text)
    if (match === null) throw new Error(`unsupported filter pattern syntax at ${at}: ${text.slice(at, at + 20)}`)
    tokens.push(match[1]!)
  }
  return tokens
}

function select (line: Json, selector: string): Json | undefined {
  let value: Json | undefined = line
  for (const [, key, index] of selector.slice(1).matchAll(/\.([A-Za-z0-9_]+)|\[(\d+)\]/g)) {
    if (value === null || typeof value !== 'object') return undefined
    value = key !== undefined ? (Array.isArray(value) ? undefined : value[key]) : (Array.isArray(value) ? value[Number(index)] : undefined)
  }
  return value
}

function wildcard (pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map(part => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`)
}

function compare (actual: Json | undefined, operator: string, literal: string): boolean {
  if (literal === '*' || literal === '"*"') {
    // Existence: CDK's FilterPattern.exists renders `= "*"`.
    if (operator !== '=') throw new Error(`unsupported: ${operator} *`)
    return actual !== undefined
  }
  if (actual === undefined) return false
  if (literal.startsWith('"')) {
    const expected = JSON.parse(literal) as string
    const text = typeof actual === 'string' ? actual : JSON.stringify(actual)
    const equal = wildcard(expected).test(text)
    if (operator === '=') return equal
    if (operator === '!=') return !equal
    throw new Error(`unsupported string comparison ${operator}`)
  }
  if (literal === 'true' || literal === 'false' || literal === 'null') {
    const expected = JSON.parse(literal) as Json
    if (operator === '=') return actual === expected
    if (operator === '!=') return actual !== expected
    throw new Error(`unsupported comparison ${operator} ${literal}`)
  }
  if (typeof actual !== 'number') return false
  const n = Number(literal)
  switch (operator) {
    case '=': return actual === n
    case '!=': return actual !== n
    case '<': return actual < n
    case '>': return actual > n
    case '<=': return actual <= n
    case '>=': return actual >= n
    default: throw new Error(`unsupported operator ${operator}`)
  }
}

/** True when the JSON `line` matches the `{ … }` filter `pattern`. */
export function matchesJsonFilter (pattern: string, line: string): boolean {
  const body = /^\s*\{(.*)\}\s*$/s.exec(pattern)?.[1]
  if (body === undefined) throw new Error(`not a JSON filter pattern: ${pattern}`)
  let parsed: Json
  try { parsed = JSON.parse(line) as Json } catch { return false }
  const tokens = tokenize(body)
  let i = 0
  const next = (): string => {
    const token = tokens[i++]
    if (token === undefined) throw new Error(`filter pattern ends early: ${pattern}`)
    return token
  }
  const primary = (): boolean => {
    const token = next()
    if (token === '(') {
      const value = or()
      if (next() !== ')') throw new Error(`missing ) in ${pattern}`)
      return value
    }
    if (!token.startsWith('$')) throw new Error(`expected a selector, got ${token}`)
    return compare(select(parsed, token), next(), next())
  }
  const and = (): boolean => {
    let value = primary()
    while (tokens[i] === '&&') { i++; value = primary() && value }
    return value
  }
  const or = (): boolean => {
    let value = and()
    while (tokens[i] === '||') { i++; value = and() || value }
    return value
  }
  const result = or()
  if (i !== tokens.length) throw new Error(`unexpected ${tokens[i]} in ${pattern}`)
  return result
}
