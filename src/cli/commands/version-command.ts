import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { errorLine } from '../cli-errors';
import { OutputFormat, toJson, toYaml } from '../printers';
import { action, outputOption, ProgramContext } from './command-kit';

/** The version of this package, read from its package.json (found upward from the running file). */
export function clientVersion(): string {
  let dir = __dirname;
  for (;;) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'opamp-commander' && pkg.version) return pkg.version;
    } catch {
      // not here: keep looking upward
    }
    const parent = path.dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}

export function versionCommand(ctx: ProgramContext): Command {
  return new Command('version')
    .description('print the client and server versions')
    .option('--client', 'the client version only (no server needed)')
    .addOption(outputOption(['json', 'yaml']))
    .action(
      action(ctx, async (rt, o: { client?: boolean; output?: OutputFormat }) => {
        const client = { version: clientVersion(), nodeVersion: process.version };
        let server: Record<string, unknown> | undefined;
        let failure: string | undefined;
        if (!o.client) {
          try {
            server = await rt.client.get<Record<string, unknown>>('/version');
          } catch (err) {
            failure = errorLine(err);
          }
        }
        const doc = { clientVersion: client, ...(server ? { serverVersion: server } : {}), ...(!o.client ? { server: rt.server } : {}) };
        if (o.output === 'json') rt.out(toJson(doc));
        else if (o.output === 'yaml') rt.out(toYaml(doc));
        else {
          rt.out(`Client Version: ${client.version}`);
          if (server) {
            const extra = [
              server.commit && server.commit !== 'unknown' ? `commit ${String(server.commit).slice(0, 12)}` : '',
              server.buildDate && server.buildDate !== 'unknown' ? `built ${server.buildDate}` : '',
            ]
              .filter(Boolean)
              .join(', ');
            rt.out(`Server Version: ${server.version}${extra ? ` (${extra})` : ''} at ${rt.server}`);
          }
        }
        if (failure) rt.fail(failure);
      }),
    );
}
