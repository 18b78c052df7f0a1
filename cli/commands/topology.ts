// `rewards topology`: describes the rewards topology (sub-topologies, nodes, stores), as Kafka
// Streams' text format, a Mermaid flowchart, or JSON. Needs no log and no running instance.
import { Command, Option } from 'commander'
import { action, configFrom, withConfigOptions, write, type CliContext } from '../cli-context.ts'

export function topologyCommand (ctx: CliContext): Command {
  const command = new Command('topology')
    .description('Describe the rewards topology (text, Mermaid diagram or JSON)')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'mermaid', 'json']).default('text'))
    .addHelpText('after', '\nExamples:\n  rewards topology\n  rewards topology --format mermaid > topology.mmd')
  withConfigOptions(command)
  command.action(action(ctx, 'topology', async () => {
    const { view } = (await import('../rewards-platform.ts')).rewardsPlatform(configFrom(ctx, command))
    const format = command.opts<{ format: 'text' | 'mermaid' | 'json' }>().format
    await write(ctx.out, format === 'json' ? JSON.stringify(view.description, null, 2) : format === 'mermaid' ? view.mermaid : view.text)
  }))
  return command
}
