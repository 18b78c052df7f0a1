// Command-line options shared by the engine benchmarks: `--name value` or `--name=value`, with
// defaults; unknown options are rejected so a typo does not silently run the default.
export type BackendName = 'kafka' | 'embedded'

export function parseArgs<T extends Record<string, string | number>> (defaults: T, argv: string[] = process.argv.slice(2)): T {
  const out: Record<string, string | number> = { ...defaults }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}; options: ${Object.keys(defaults).map(k => `--${k}`).join(' ')}`)
    const eq = arg.indexOf('=')
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2)
    const raw = eq > 0 ? arg.slice(eq + 1) : argv[++i]
    if (!(name in defaults)) throw new Error(`unknown option --${name}; options: ${Object.keys(defaults).map(k => `--${k}`).join(' ')}`)
    if (raw === undefined) throw new Error(`--${name} needs a value`)
    if (typeof defaults[name] === 'number') {
      const n = Number(raw.replace(/_/g, ''))
      if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got ${raw}`)
      out[name] = n
    } else {
      out[name] = raw
    }
  }
  return out as T
}

export function backendOf (value: string): BackendName {
  if (value !== 'kafka' && value !== 'embedded') throw new Error(`--backend must be kafka or embedded, got ${value}`)
  return value
}
