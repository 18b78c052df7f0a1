// `rewards store get|scan`: inspect a state store of a STOPPED instance, read directly from its
// state directory (see cli/offline-store.ts). A running instance is answered over HTTP instead.
import { Command, InvalidArgumentError } from 'commander'
import { action, configFrom, withConfigOptions, write, type CliContext, EXIT } from '../cli-context.ts'

function positiveInt (value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 100_000) throw new InvalidArgumentError('expected an integer from 1 to 100000')
  return Number(value)
}

export function storeCommand (ctx: CliContext): Command {
  const store = new Command('store')
    .description('Inspect a state store of a stopped instance (reads <data-dir>/state/<application-id>/<task>/<store>)')
    .addHelpText('after', '\nStores of the rewards topology: balances, event-dedupe, redemption-dedupe, redemption-index, dedupe-expiry, activity.\n' +
      'A running instance holds the state directory lock: query it over its HTTP API instead.')

  const get = new Command('get')
    .description('Print the value of one key (exit 1 when the key is absent)')
    .argument('<store>', 'store name, e.g. balances')
    .argument('<key>', 'key, e.g. a member id')
    .option('--json', 'print { task, key, value } on one line instead of the pretty value')
    .addHelpText('after', '\nExample:\n  rewards store get balances M-1001 --data-dir ./data')
  withConfigOptions(get)
  get.action(action(ctx, 'store get', async (storeName: string, key: string) => {
    const config = configFrom(ctx, get)
    const { openOfflineStore } = await import('../offline-store.ts')
    const opened = await openOfflineStore(config, (await import('../rewards-platform.ts')).rewardsPlatform(config).topology, storeName)
    try {
      const entry = opened.get(key)
      if (entry === undefined) {
        await write(ctx.err, `rewards store get: [KEY_NOT_FOUND] key ${JSON.stringify(key)} not found in store ${storeName} (${opened.tasks.length} task(s) searched)`)
        return EXIT.FAILED
      }
      await write(ctx.out, get.opts<{ json?: boolean }>().json === true ? JSON.stringify(entry) : JSON.stringify(entry.value, null, 2))
    } finally {
      await opened.close()
    }
  }))

  const scan = new Command('scan')
    .description('Print entries in key order as JSON lines {task, key, value}')
    .argument('<store>', 'store name, e.g. activity')
    .option('--prefix <prefix>', 'only keys starting with this prefix', '')
    .option('--limit <n>', 'at most this many entries (1–100000)', positiveInt, 100)
    .option('--json', 'print one JSON array instead of JSON lines')
    .addHelpText('after', '\nExamples:\n  rewards store scan balances --limit 10\n  rewards store scan activity --prefix M-1001: --limit 20')
  withConfigOptions(scan)
  scan.action(action(ctx, 'store scan', async (storeName: string) => {
    const config = configFrom(ctx, scan)
    const opts = scan.opts<{ prefix: string, limit: number, json?: boolean }>()
    const { openOfflineStore } = await import('../offline-store.ts')
    const opened = await openOfflineStore(config, (await import('../rewards-platform.ts')).rewardsPlatform(config).topology, storeName)
    try {
      const entries = opened.scan(opts.prefix, opts.limit)
      if (opts.json === true) await write(ctx.out, JSON.stringify(entries, null, 2))
      else if (entries.length > 0) await write(ctx.out, entries.map(e => JSON.stringify(e)).join('\n'))
    } finally {
      await opened.close()
    }
  }))

  store.addCommand(get)
  store.addCommand(scan)
  return store
}
