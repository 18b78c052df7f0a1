#!/usr/bin/env node
// The `rewards` command line (docs/cli.md). This entry point is the one place that reads
// process.env: it hands the environment to the commands, which validate it once into the typed
// configuration (lib/config.ts), and libuv's thread pool size (uv-threadpool.ts, first: before
// anything uses the pool).
import './uv-threadpool.ts'
import { existsSync } from 'node:fs'
import { Command } from 'commander'
import { type CliContext } from './cli-context.ts'
import { VERSION } from './version.ts'
import { relaunchWithMemoryCaps } from './memory-launch.ts'
import { configCommand } from './commands/config.ts'
import { lagCommand } from './commands/lag.ts'
import { startCommand } from './commands/start.ts'
import { storeCommand } from './commands/store.ts'
import { topicsCommand } from './commands/topics.ts'
import { topologyCommand } from './commands/topology.ts'

export async function buildProgram (ctx: CliContext): Promise<Command> {
  const program = new Command('rewards')
    .description('Rewards & Redeem stream platform: run roles, manage topics, inspect the topology, lag and stores')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({
      writeOut: text => ctx.out.write(text),
      writeErr: text => ctx.err.write(text)
    })
    .addHelpText('after', '\nEvery command takes the configuration flags (see `rewards config --help`); each overrides its REWARDS_* variable.\nDocumentation: docs/cli.md')
  program.addCommand(startCommand(ctx))
  program.addCommand(topicsCommand(ctx))
  program.addCommand(topologyCommand(ctx))
  program.addCommand(lagCommand(ctx))
  program.addCommand(storeCommand(ctx))
  program.addCommand(configCommand(ctx))
  await addOptionalCommands(program, ctx)
  applyToSubcommands(program, ctx)
  return program
}

/** Commander does not pass a program's output and help-after-error settings on to commands added
 *  with addCommand(): without this, `rewards start --bogus` said only `error: unknown option
 *  '--bogus'`, with no pointer to the command's --help, and wrote past ctx.err. Every usage error
 *  names the --help that lists what the command takes (docs/cli.md "Exit status"). */
function applyToSubcommands (command: Command, ctx: CliContext, path = 'rewards'): void {
  for (const sub of command.commands) {
    const name = `${path} ${sub.name()}`
    sub.showHelpAfterError(`(run \`${name} --help\` for usage)`)
      .configureOutput({ writeOut: text => ctx.out.write(text), writeErr: text => ctx.err.write(text) })
    applyToSubcommands(sub, ctx, name)
  }
}

/** Commands other parts of the platform contribute, added when their module exists: each
 *  cli/commands/<name>.ts exports `<name>Command(ctx): Command`. */
export const OPTIONAL_COMMANDS = Object.freeze(['rebuild', 'replay', 'reconcile', 'clients', 'demo', 'db', 'report', 'notifications'])

async function addOptionalCommands (program: Command, ctx: CliContext): Promise<void> {
  for (const name of OPTIONAL_COMMANDS) {
    const url = new URL(`./commands/${name}.ts`, import.meta.url)
    if (!existsSync(url)) continue
    try {
      const module = await import(url.href) as Record<string, unknown>
      const factory = module[`${name}Command`]
      if (typeof factory !== 'function') throw new Error(`it does not export ${name}Command()`)
      program.addCommand((factory as (ctx: CliContext) => Command)(ctx))
    } catch (error) {
      // One broken optional command must not take the others (start, topics…) down with it.
      ctx.err.write(`rewards: the ${name} command could not be loaded: ${(error as Error).message}\n`)
    }
  }
}

async function main (): Promise<void> {
  // `rewards start` with the processor: V8's old-space cap and MALLOC_ARENA_MAX from the memory
  // budget, which only take effect in a new process image (cli/memory-launch.ts).
  relaunchWithMemoryCaps()
  const ctx: CliContext = { env: process.env, cwd: process.cwd(), out: process.stdout, err: process.stderr }
  const program = await buildProgram(ctx)
  await program.parseAsync(process.argv)
  // One-shot commands are done: do not wait for lingering handles of client libraries.
  await new Promise<void>(resolve => process.stdout.write('', () => resolve()))
  process.exit(process.exitCode ?? 0)
}

await main()
