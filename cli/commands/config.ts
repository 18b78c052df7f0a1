// `rewards config`: the resolved configuration, secrets masked, with where each value came from.
import { Command } from 'commander'
import { describeConfig } from '../../lib/config.ts'
import { action, configFrom, withConfigOptions, write, type CliContext } from '../cli-context.ts'
import { formatTable } from '../format-table.ts'

export function configCommand (ctx: CliContext): Command {
  const command = new Command('config')
    .description('Print the resolved configuration (secrets masked) and where each value comes from')
    .option('--json', 'print a JSON object { setting: value } instead of a table')
    .addHelpText('after', '\nExample:\n  REWARDS_KAFKA_BROKERS=127.0.0.1:9092 rewards config --partitions 6')
  withConfigOptions(command)
  command.action(action(ctx, 'config', async () => {
    const config = configFrom(ctx, command)
    const rows = describeConfig(config)
    if (command.opts<{ json?: boolean }>().json === true) {
      await write(ctx.out, JSON.stringify(Object.fromEntries(rows.map(r => [r.env, { value: r.value, source: r.source }])), null, 2))
    } else {
      await write(ctx.out, formatTable(['VARIABLE', 'FLAG', 'VALUE', 'SOURCE'], rows.map(r => [r.env, r.flag, r.value, r.source])))
    }
  }))
  return command
}
