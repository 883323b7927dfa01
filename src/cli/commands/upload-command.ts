import { Command, InvalidArgumentError } from 'commander';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliError, UsageError } from '../cli-errors';
import type { Resource } from '../resource-fields';
import { resolveResourceType } from '../resource-types';
import type { OutputFormat } from '../printers';
import { action, outputOption, ProgramContext } from './command-kit';
import { report } from './write-kit';

const PLATFORM = /^[a-z0-9][a-z0-9_.-]{0,31}(\/[a-z0-9][a-z0-9_.-]{0,31})?$/;

function platform(value: string): string {
  if (!PLATFORM.test(value)) throw new InvalidArgumentError('must be os or os/arch in lower case, e.g. linux/amd64.');
  return value;
}

function packageType(value: string): string {
  if (value !== 'top-level' && value !== 'addon') throw new InvalidArgumentError('must be top-level or addon.');
  return value;
}

/** SHA-256 of a file, read as a stream. */
async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** `upload package NAME VERSION FILE`: streams a file into the package catalogue, with its hash (and signature or Sigstore bundle) for the server to check. */
export function uploadCommand(ctx: ProgramContext): Command {
  const upload = new Command('upload').description('upload a file to the server (package files of the catalogue)');
  upload.addCommand(
    new Command('package')
      .alias('pkg')
      .description(
        'upload FILE as a file of package NAME at VERSION (creating the version when it is new); its SHA-256 is sent for the server to check, and a version never changes once a file is stored',
      )
      .argument('<name>', 'package name (a DNS label)')
      .argument('<version>', 'version, e.g. 1.2.3')
      .argument('<file>', 'the file to upload; its base name is the name agents download')
      .option('--platform <os/arch>', 'the platform the file is for, e.g. linux/amd64 (default: every platform)', platform)
      .option('--type <type>', 'top-level (the agent itself, the default) or addon, when the upload creates the version', packageType)
      .option('--signature-file <file>', 'signature of the file (raw bytes, or base64 text), checked by the server against its signing key')
      .option(
        '--sigstore-bundle <file>',
        'Sigstore bundle of the file (the JSON cosign sign-blob --bundle writes), verified by the server offline against its trusted root or signing key',
      )
      .option('--as <name>', 'file name on the server (default: the base name of FILE)')
      .addOption(outputOption(['name', 'json', 'yaml']))
      .action(
        action(
          ctx,
          async (
            rt,
            o: { platform?: string; type?: string; signatureFile?: string; sigstoreBundle?: string; as?: string; output?: string },
            name: string,
            version: string,
            file: string,
          ) => {
            let size: number;
            try {
              const st = fs.statSync(file);
              if (!st.isFile()) throw new Error('not a regular file');
              size = st.size;
            } catch (err) {
              throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
            }
            let signature: string | undefined;
            if (o.signatureFile) {
              const raw = fs.readFileSync(o.signatureFile);
              const asText = raw.toString('utf8').trim();
              signature = /^[A-Za-z0-9+/_-]+={0,2}$/.test(asText) ? asText : raw.toString('base64');
            }
            if (o.signatureFile && o.sigstoreBundle) throw new UsageError('give --signature-file or --sigstore-bundle, not both');
            let sigstoreBundle: string | undefined;
            if (o.sigstoreBundle) {
              let text: string;
              try {
                text = fs.readFileSync(o.sigstoreBundle, 'utf8');
              } catch (err) {
                throw new UsageError(`cannot read ${o.sigstoreBundle}: ${(err as Error).message}`);
              }
              // URL-safe base64: the bundle travels in the query, and +, / and = would each take three characters there.
              sigstoreBundle = Buffer.from(text.trim(), 'utf8').toString('base64url');
            }
            const t = resolveResourceType('packages');
            const id = `${name}@${version}`;
            const fileName = o.as ?? path.basename(file);
            const sha256 = await sha256Of(file);
            const res = await rt.client.request<Resource>('PUT', `/packages/${encodeURIComponent(id)}/files/${encodeURIComponent(fileName)}`, {
              query: { platform: o.platform, type: o.type, sha256, signature, sigstoreBundle },
              uploadFile: { path: file, size },
            });
            if (!res.body) throw new CliError('the server answered the upload without the package');
            if (o.output) return report(rt, t, res.body, 'uploaded', o.output as OutputFormat);
            rt.out(`package/${id} ${fileName} uploaded (${size} bytes, sha256 ${sha256.slice(0, 12)}…${o.platform ? `, ${o.platform}` : ''})`);
          },
        ),
      ),
  );
  return upload;
}
