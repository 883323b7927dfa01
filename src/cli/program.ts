import { Command, CommanderError, Option } from 'commander';
import { CliError, EXIT_OK, EXIT_USAGE, errorLine, exitCodeOf } from './cli-errors';
import { Io, RunState } from './cli-runtime';
import { loginCommand, logoutCommand, whoamiCommand } from './commands/auth-commands';
import { ProgramContext } from './commands/command-kit';
import { completionCommands } from './commands/completion-command';
import { configCommand, contextCommands } from './commands/config-command';
import { describeCommand } from './commands/describe-command';
import { editCommand } from './commands/edit-command';
import { getCommand } from './commands/get-command';
import { restartCommand, updateCommand } from './commands/update-command';
import { clientVersion, versionCommand } from './commands/version-command';
import { waitCommand } from './commands/wait-command';
import { applyCommand } from './commands/apply-command';
import { createCommand } from './commands/create-command';
import { deleteCommand } from './commands/delete-command';
import { labelCommand } from './commands/label-command';
import { rolloutCommand } from './commands/rollout-command';
import { uploadCommand } from './commands/upload-command';

const EXAMPLES = `
Examples:
  opampctl config set-context local --server http://localhost:8080 --current
  opampctl login --username admin
  opampctl get agents -l service.name=checkout -o wide
  opampctl apply -f examples/fleet.yaml
  opampctl update config --group checkout -f examples/collector.yaml
  opampctl wait agentgroup checkout --for applied --timeout 5m
  opampctl config diff collector-base --from 1 --to 2
  opampctl upload package otelcol 0.149.0 ./otelcol.tar.gz --platform linux/amd64

Resource types (opampctl api-resources): agents (ag), agentgroups (grp, group), remoteconfigs (rc),
history (revisions of a remote config), packages (pkg), tokens (enrollment tokens), users, audit.
Exit codes: 0 ok, 1 error, 2 usage.`;

/** Applies the settings every command shares (errors through exitOverride, output through io). */
function configure(cmd: Command, io: Io): void {
  const usage = `${cmd.parent ? `${cmd.parent.name() === 'opampctl' ? '' : `${cmd.parent.name()} `}${cmd.name()} ` : ''}--help`;
  cmd.exitOverride().configureOutput({
    writeOut: (s) => io.stdout.write(s),
    writeErr: (s) => io.stderr.write(s),
    // Usage errors stay on one line, with where to read more.
    outputError: (s, write) => write(`${s.trimEnd()} (see opampctl ${usage})\n`),
  });
  for (const sub of cmd.commands) configure(sub, io);
}

/** The whole command tree of opampctl. */
export function buildProgram(io: Io, state: RunState): Command {
  const ctx: ProgramContext = { io, state };
  const program = new Command('opampctl')
    .description('Command line for OpAMP Commander: agents, agent groups, remote configs, users and tokens, over the REST API.')
    .version(clientVersion(), '--version', 'print the client version')
    .addOption(new Option('--config <file>', 'opampctl config file (env OPAMPCTL_CONFIG; default ~/.config/opampctl/config.yaml)'))
    .addOption(new Option('--context <name>', 'context to use (env OPAMPCTL_CONTEXT; default: the current context)'))
    .addOption(new Option('-s, --server <url>', 'server URL, overriding the context (env OPAMPCTL_SERVER)'))
    .addOption(new Option('--request-timeout <duration>', 'time limit of each request, e.g. 30s (default 30s)'))
    .addOption(new Option('-v, --verbose', 'print each HTTP request on stderr'))
    .addHelpText('after', EXAMPLES)
    .helpCommand(true);

  const commands = [
    getCommand(ctx),
    describeCommand(ctx),
    createCommand(ctx),
    applyCommand(ctx),
    editCommand(ctx),
    deleteCommand(ctx),
    labelCommand(ctx),
    updateCommand(ctx),
    configCommand(ctx),
    ...contextCommands(ctx),
    restartCommand(ctx),
    waitCommand(ctx),
    rolloutCommand(ctx),
    uploadCommand(ctx),
    loginCommand(ctx),
    logoutCommand(ctx),
    whoamiCommand(ctx),
    versionCommand(ctx),
    ...completionCommands(ctx, () => program),
  ];
  for (const c of commands) program.addCommand(c, (c as unknown as { _hidden?: boolean })._hidden ? { hidden: true } : {});
  configure(program, io);
  return program;
}

/** Runs opampctl on `argv` (without node and the script) and returns the exit code; never throws. */
export async function runCli(argv: string[], io: Io): Promise<number> {
  const state: RunState = { exitCode: EXIT_OK };
  const program = buildProgram(io, state);
  try {
    if (!argv.length) {
      program.outputHelp({ error: true });
      return EXIT_USAGE;
    }
    await program.parseAsync(argv, { from: 'user' });
    return state.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and --version end through here too, with exit code 0; commander has printed the message.
      return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    io.stderr.write(`${errorLine(err)}\n`);
    return exitCodeOf(err instanceof CliError || err instanceof Error ? err : new Error(String(err)));
  }
}
