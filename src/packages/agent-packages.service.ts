import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHash, Hash } from 'node:crypto';
import * as fs from 'node:fs';
import { Readable, Transform, TransformCallback } from 'node:stream';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { ConflictError, InvalidError, NotFoundError, TooLargeError } from '../common/domain-errors';
import { FreshCache } from '../common/fresh-cache';
import { DATABASE_PROFILE, DatabaseProfile, KeyedWrites } from '../database/database-profile';
import { AgentPackage, StoredPackageFile } from './agent-package.schema';
import { AgentPackagesRepository } from './agent-packages.repository';
import { AgentPackageType, AgentPlatform, CataloguedPackage, PackageCatalogue, PackageFileOffer } from './package-catalogue';
import { PackageFileCache } from './package-file-cache';
import { PackageFilesRepository } from './package-files.repository';
import { compareVersions, fileNameProblem, packageId, parsePackageId, PLATFORM_MESSAGE, PLATFORM_PATTERN, SHA256_HEX_PATTERN } from './package-names';
import { decodeSignature, PackageSignatureVerifier, SignatureCheck, SignatureRefused } from './package-signature';
import { SigstoreBundleVerifier, SigstoreCheck } from './package-sigstore';

/** How long a download's catalogue lookup is used again without asking the database. */
const SERVABLE_FRESH_MS = 5000;

/** The download path of an uploaded file on the OpAMP port: `/v1/packages/NAME/VERSION/FILE`. */
export const PACKAGE_DOWNLOAD_PREFIX = '/v1/packages/';

export function downloadPath(name: string, version: string, file: string): string {
  return `${PACKAGE_DOWNLOAD_PREFIX}${encodeURIComponent(name)}/${encodeURIComponent(version)}/${encodeURIComponent(file)}`;
}

/** A file given by URL in a manifest. */
export interface ExternalFileInput {
  name: string;
  platform?: string;
  url: string;
  sha256: string;
  size?: number;
  signature?: string;
}

export interface CreatePackageInput {
  id: string;
  type?: AgentPackageType;
  description?: string;
  files?: ExternalFileInput[];
}

/** What comes with an uploaded file besides its bytes. */
export interface UploadInput {
  id: string;
  file: string;
  platform?: string;
  /** Used when the upload creates the version; must agree with an existing version's type. */
  type?: AgentPackageType;
  /** SHA-256 the uploader computed (hex); the upload is refused when the bytes differ. */
  sha256?: string;
  /** Base64 signature of the file. */
  signature?: string;
  /** Base64 of a Sigstore bundle's JSON, verified against the bytes (instead of `signature`). */
  sigstoreBundle?: string;
  /** The request's Content-Length, when it has one. */
  contentLength?: number;
}

/** A file the download endpoint can serve. */
export interface ServableFile {
  storedId: string;
  sha256: string;
  size: number;
}

/**
 * The package catalogue (issue 21): versions of agent packages and their files, uploaded into
 * GridFS or given by https URL. A version's files never change once stored; every change of one
 * version runs under the profile's keyed guard (FerretDB's updates are not atomic), and bytes are
 * stored before the record that names them, so a refused or failed upload leaves nothing.
 */
@Injectable()
export class AgentPackagesService extends PackageCatalogue {
  private readonly logger = new Logger(AgentPackagesService.name);
  private readonly writes: KeyedWrites;
  private readonly verifier?: PackageSignatureVerifier;
  private readonly sigstore: SigstoreBundleVerifier;
  /**
   * What the download path names, looked up once per file for a few seconds: a fleet downloading
   * at once makes one catalogue read, not one per request, so downloads never crowd the database
   * pool that heartbeats and reports need. A delete here forgets at once; on another replica
   * within SERVABLE_FRESH_MS (and the bytes are gone from the database already).
   */
  private readonly servables = new FreshCache<string, Promise<ServableFile | undefined>>(SERVABLE_FRESH_MS, 10_000);

  constructor(
    private readonly store: AgentPackagesRepository,
    private readonly files: PackageFilesRepository,
    private readonly cache: PackageFileCache,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(DATABASE_PROFILE) profile: DatabaseProfile,
  ) {
    super();
    this.writes = profile.keyedWrites();
    const keyFile = config.packages.signingPublicKeyFile;
    if (keyFile) this.verifier = PackageSignatureVerifier.fromPem(fs.readFileSync(keyFile));
    const { trustedRootFile, identityRegexp, ...policy } = config.packages.sigstore;
    this.sigstore = new SigstoreBundleVerifier(
      {
        ...policy,
        identityRegexp: identityRegexp === undefined ? undefined : new RegExp(identityRegexp),
        trustedRootJson: trustedRootFile ? fs.readFileSync(trustedRootFile) : undefined,
      },
      this.verifier?.key,
    );
  }

  /** Which signatures uploads are checked against (for the start-up log and docs). */
  get signatureAlgorithm(): string | undefined {
    return this.verifier?.algorithm;
  }

  async create(input: CreatePackageInput): Promise<AgentPackage> {
    const { name, version } = this.checkedId(input.id);
    const files = (input.files ?? []).map((f, i) => this.checkedExternalFile(f, `spec.files.${i}`));
    checkUnique(files);
    return this.writes.run(input.id, async () => {
      const existing = await this.store.findById(input.id);
      if (existing) throw this.taken(existing);
      const now = new Date();
      const record: AgentPackage = {
        _id: input.id,
        package: name,
        version,
        type: input.type ?? 'top-level',
        ...(input.description != null ? { description: input.description } : {}),
        files,
        resourceVersion: 1,
        createdAt: now,
        updatedAt: now,
        deletedAt: null,
      };
      if (!(await this.store.insert(record))) throw new ConflictError(`package ${input.id} already exists; a version is immutable, publish a new one`);
      return record;
    });
  }

  /**
   * Stores an uploaded file of a version (creating the version when it does not exist). Refused
   * before a byte is read when the name or platform is taken or the declared length is over the
   * limit, or the Sigstore bundle is not one this server can verify; while streaming when the
   * bytes run over the limit (413); after, when the hash, the signature or the bundle does not
   * match (400). Every refusal removes what was written.
   */
  async upload(input: UploadInput, body: Readable): Promise<AgentPackage> {
    const { name, version } = this.checkedId(input.id);
    const problem = fileNameProblem(input.file);
    if (problem) throw invalid('file', `file name "${printable(input.file)}" ${problem}`);
    const platform = this.checkedPlatform(input.platform, 'platform');
    const sha256 = input.sha256?.toLowerCase();
    if (sha256 !== undefined && !SHA256_HEX_PATTERN.test(sha256)) throw invalid('sha256', 'sha256 must be 64 hexadecimal digits');
    const signature = input.signature == null ? undefined : this.checkedSignature(input.signature, 'signature');
    if (signature && input.sigstoreBundle != null) throw invalid('sigstoreBundle', 'give a signature or a Sigstore bundle, not both');
    const bundle = input.sigstoreBundle == null ? undefined : this.checkedBundle(input.sigstoreBundle);
    const max = this.config.packages.maxFileBytes;
    if (input.contentLength !== undefined && input.contentLength > max) throw tooLarge(max);

    return this.writes.run(input.id, async () => {
      const existing = await this.store.findById(input.id);
      if (existing) this.checkCanAdd(existing, input.file, platform, input.type);
      const meter = new UploadMeter(max, signature ? this.verifier?.start() : undefined, bundle);
      // pipe() forwards no error: a client that breaks off must end the write, or it would wait forever.
      body.once('error', (err) => meter.destroy(err));
      body.once('close', () => {
        if (!body.readableEnded) meter.destroy(new InvalidError('the upload was cut off before its end; nothing was stored'));
      });
      const storedId = await this.files.store(input.file, body.pipe(meter), { package: input.id });
      const keep = async <T>(work: () => Promise<T>): Promise<T> => {
        try {
          return await work();
        } catch (err) {
          await this.files.remove(storedId).catch((e) => this.logger.warn(`stored file ${storedId} of a refused upload not removed: ${e}`));
          throw err;
        }
      };
      return keep(async () => {
        const digest = meter.digest();
        if (sha256 !== undefined && digest.toString('hex') !== sha256) {
          throw invalid('sha256', `the uploaded bytes have SHA-256 ${digest.toString('hex')}, not the declared ${sha256}; nothing was stored`);
        }
        if (signature && meter.check && !meter.check.verify(signature.bytes, digest)) {
          throw invalid('signature', `the signature does not verify against the package signing key (${this.verifier!.algorithm}); nothing was stored`);
        }
        const signer = bundle ? this.verifiedBundle(bundle, digest) : undefined;
        const file: StoredPackageFile = {
          name: input.file,
          platform,
          storedId,
          sha256: digest.toString('hex'),
          size: meter.bytes,
          ...(signature ? { signature: signature.text } : {}),
          ...(bundle && signer ? { sigstoreBundle: bundle.json, signer } : {}),
          signatureVerified: Boolean((signature && meter.check) || signer),
          addedAt: new Date(),
        };
        const stored = await this.commitFile(input.id, name, version, input.type, file, existing);
        // A download asked for before the file existed must not keep its 404.
        this.servables.forget(`${input.id}/${input.file}`);
        return stored;
      });
    });
  }

  /** Adds a file to a version (a new version when there is none); the caller holds the version's guard. */
  private async commitFile(
    id: string,
    name: string,
    version: string,
    type: AgentPackageType | undefined,
    file: StoredPackageFile,
    existing: AgentPackage | undefined,
  ): Promise<AgentPackage> {
    const now = new Date();
    if (!existing) {
      const record: AgentPackage = {
        _id: id,
        package: name,
        version,
        type: type ?? 'top-level',
        files: [file],
        resourceVersion: 1,
        createdAt: now,
        updatedAt: now,
        deletedAt: null,
      };
      if (!(await this.store.insert(record))) throw new ConflictError(`package ${id} was created concurrently; retry`);
      return record;
    }
    const updated = await this.store.compareAndSet(existing, { files: [...existing.files, file], updatedAt: now }, { deletedAt: null });
    if (!updated) throw new ConflictError(`package ${id} was changed concurrently; retry`);
    return updated;
  }

  async list(limit: number, after: string | undefined, includeDeleted = false, packageName?: string): Promise<{ items: AgentPackage[]; remaining: number }> {
    return this.store.page(limit, after, includeDeleted, packageName);
  }

  async get(id: string, includeDeleted = false): Promise<AgentPackage> {
    this.checkedId(id);
    const p = await this.store.findById(id);
    if (!p || (p.deletedAt && !includeDeleted)) throw new NotFoundError(`package ${id} not found`);
    return p;
  }

  /** Soft delete: the record stays (never offered, its id never reused); the stored bytes are removed. */
  async delete(id: string): Promise<AgentPackage> {
    return this.writes.run(id, async () => {
      const p = await this.get(id);
      const now = new Date();
      const updated = await this.store.compareAndSet(p, { deletedAt: now, updatedAt: now }, { deletedAt: null });
      if (!updated) throw new ConflictError(`package ${id} was changed concurrently; retry`);
      this.servables.forgetWhere((_, key) => key.startsWith(`${id}/`));
      for (const f of p.files) {
        if (!f.storedId) continue;
        await this.files.remove(f.storedId).catch((e) => this.logger.warn(`bytes of ${id}/${f.name} not removed: ${e}`));
        // This replica's copy goes too (another version with the same bytes copies them again when asked).
        await this.cache.forget(f.sha256).catch(() => undefined);
      }
      return updated;
    });
  }

  /** The uploaded file the download path names, when its version is catalogued and not deleted. */
  servable(name: string, version: string, file: string): Promise<ServableFile | undefined> {
    const key = `${packageId(name, version)}/${file}`;
    const known = this.servables.fresh(key);
    if (known) return known;
    const lookup = this.lookUpServable(name, version, file);
    this.servables.set(key, lookup);
    // A failed lookup is not remembered: the next request asks the database again.
    lookup.catch(() => this.servables.forget(key));
    return lookup;
  }

  private async lookUpServable(name: string, version: string, file: string): Promise<ServableFile | undefined> {
    const p = await this.store.findById(packageId(name, version));
    if (!p || p.deletedAt) return undefined;
    const f = p.files.find((x) => x.name === file);
    if (!f?.storedId || f.size === undefined) return undefined;
    return { storedId: f.storedId, sha256: f.sha256, size: f.size };
  }

  // The port the offers side reads (PackageCatalogue).

  async find(name: string, version: string): Promise<CataloguedPackage | undefined> {
    const p = await this.store.findById(packageId(name, version));
    return p && !p.deletedAt ? toCatalogued(p) : undefined;
  }

  async versions(name: string): Promise<CataloguedPackage[]> {
    const all = await this.store.versionsOf(name);
    return all.map(toCatalogued).sort((a, b) => compareVersions(b.version, a.version));
  }

  async fileFor(name: string, version: string, platform: AgentPlatform, baseUrl: string): Promise<PackageFileOffer | undefined> {
    const p = await this.store.findById(packageId(name, version));
    if (!p || p.deletedAt) return undefined;
    const f = pickFile(p.files, platform);
    if (!f) return undefined;
    return {
      downloadUrl: f.url ?? `${baseUrl.replace(/\/+$/, '')}${downloadPath(name, version, f.name)}`,
      contentHash: Buffer.from(f.sha256, 'hex'),
      // DownloadableFile.signature is opaque bytes "to verify the file" in whatever format the agent
      // and server agree on. For a Sigstore bundle that is the bundle's JSON, as uploaded: the standard
      // form every Sigstore verifier (cosign verify-blob --bundle, sigstore-go, sigstore-js) reads
      // whole, carrying the certificate, log entries and timestamps an agent needs to verify the
      // file offline itself; the bare signature bytes inside it would verify against nothing the agent has.
      signature: f.sigstoreBundle ? Buffer.from(f.sigstoreBundle, 'utf8') : f.signature ? Buffer.from(f.signature, 'base64') : new Uint8Array(),
      headers: {},
      ...(f.size !== undefined ? { size: f.size } : {}),
    };
  }

  private checkedId(id: string): { name: string; version: string } {
    const parsed = parsePackageId(id);
    if (!parsed) {
      throw invalid(
        'name',
        `"${printable(id)}" is not NAME@VERSION: NAME a DNS label (lower-case letters, digits, "-"), VERSION such as 1.2.3 (letters, digits, ".", "_", "+", "-")`,
      );
    }
    return parsed;
  }

  private checkedPlatform(platform: string | undefined | null, field: string): string {
    if (platform == null || platform === '') return '';
    if (!PLATFORM_PATTERN.test(platform)) throw invalid(field, `${field} ${PLATFORM_MESSAGE}`);
    return platform;
  }

  private checkedSignature(text: string, field: string): { text: string; bytes: Buffer } {
    try {
      const bytes = decodeSignature(text);
      return { text: bytes.toString('base64'), bytes };
    } catch (err) {
      if (err instanceof SignatureRefused) throw invalid(field, err.message);
      throw err;
    }
  }

  /** The bundle's check, started before a byte is read; a bundle that cannot be verified is refused here. */
  private checkedBundle(text: string): SigstoreCheck {
    try {
      return this.sigstore.start(text);
    } catch (err) {
      if (err instanceof SignatureRefused) throw invalid('sigstoreBundle', `${err.message}; nothing was stored`);
      throw err;
    }
  }

  private verifiedBundle(bundle: SigstoreCheck, digest: Buffer): StoredPackageFile['signer'] {
    try {
      return bundle.finish(digest);
    } catch (err) {
      if (err instanceof SignatureRefused) throw invalid('sigstoreBundle', `${err.message}; nothing was stored`);
      throw err;
    }
  }

  private checkedExternalFile(f: ExternalFileInput, field: string): StoredPackageFile {
    const problem = fileNameProblem(f.name);
    if (problem) throw invalid(`${field}.name`, `file name "${printable(f.name)}" ${problem}`);
    let url: URL;
    try {
      url = new URL(f.url);
    } catch {
      throw invalid(`${field}.url`, `${field}.url is not a URL`);
    }
    if (url.protocol !== 'https:')
      throw invalid(`${field}.url`, `${field}.url must be an https URL (agents check the hash, but the transfer must be private too)`);
    if (url.username || url.password) throw invalid(`${field}.url`, `${field}.url must not carry credentials; they would be sent to every agent`);
    const sha256 = f.sha256.toLowerCase();
    if (!SHA256_HEX_PATTERN.test(sha256)) throw invalid(`${field}.sha256`, `${field}.sha256 must be 64 hexadecimal digits`);
    const signature = f.signature == null ? undefined : this.checkedSignature(f.signature, `${field}.signature`);
    return {
      name: f.name,
      platform: this.checkedPlatform(f.platform, `${field}.platform`),
      url: url.toString(),
      sha256,
      ...(f.size != null ? { size: f.size } : {}),
      // The server never sees an external file's bytes, so it cannot verify its signature: passed through as given.
      ...(signature ? { signature: signature.text } : {}),
      signatureVerified: false,
      addedAt: new Date(),
    };
  }

  private checkCanAdd(existing: AgentPackage, file: string, platform: string, type: AgentPackageType | undefined): void {
    if (existing.deletedAt) throw this.taken(existing);
    if (type !== undefined && type !== existing.type) {
      throw new ConflictError(`package ${existing._id} is of type ${existing.type}, not ${type}; a version is immutable`);
    }
    if (existing.files.some((f) => f.name === file)) {
      throw new ConflictError(`package ${existing._id} already has a file ${file}; a stored file never changes, publish a new version`);
    }
    if (existing.files.some((f) => f.platform === platform)) {
      throw new ConflictError(
        `package ${existing._id} already has a file for ${platform ? `platform ${platform}` : 'every platform (no platform given)'}; publish a new version`,
      );
    }
  }

  private taken(p: AgentPackage): ConflictError {
    return p.deletedAt
      ? new ConflictError(`package ${p._id} was deleted; a deleted version is never published again, publish a new version`)
      : new ConflictError(`package ${p._id} already exists; a version is immutable, publish a new one`);
  }
}

/** Counts, hashes and (when asked) feeds the signature or bundle check with the bytes as they stream; fails past the limit. */
class UploadMeter extends Transform {
  bytes = 0;
  private readonly hash: Hash = createHash('sha256');
  private digestValue?: Buffer;

  constructor(
    private readonly max: number,
    readonly check: SignatureCheck | undefined,
    private readonly bundle: SigstoreCheck | undefined,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.max) return done(tooLarge(this.max));
    this.hash.update(chunk);
    this.check?.update(chunk);
    this.bundle?.update(chunk);
    done(null, chunk);
  }

  digest(): Buffer {
    this.digestValue ??= this.hash.digest();
    return this.digestValue;
  }
}

/** The file of a version for a platform: the exact os/arch, else the os alone, else the one for every platform. */
export function pickFile<F extends { platform: string }>(files: F[], platform: AgentPlatform): F | undefined {
  const os = platform.os?.toLowerCase();
  const arch = platform.arch?.toLowerCase();
  return (
    (os && arch ? files.find((f) => f.platform === `${os}/${arch}`) : undefined) ??
    (os ? files.find((f) => f.platform === os) : undefined) ??
    files.find((f) => f.platform === '')
  );
}

function checkUnique(files: StoredPackageFile[]): void {
  const names = new Set<string>();
  const platforms = new Set<string>();
  files.forEach((f, i) => {
    if (names.has(f.name)) throw invalid(`spec.files.${i}.name`, `two files are named ${f.name}`);
    if (platforms.has(f.platform)) throw invalid(`spec.files.${i}.platform`, `two files are for ${f.platform || 'every platform'}`);
    names.add(f.name);
    platforms.add(f.platform);
  });
}

function toCatalogued(p: AgentPackage): CataloguedPackage {
  return { name: p.package, version: p.version, type: p.type, fileHashes: p.files.map((f) => f.sha256) };
}

function invalid(field: string, message: string): InvalidError {
  return new InvalidError(message, { errors: [{ field, message }] });
}

function tooLarge(max: number): TooLargeError {
  return new TooLargeError(`a package file may have at most ${max} bytes (PACKAGE_MAX_FILE_BYTES); nothing was stored`);
}

/** A name as it can be shown in a message (control characters escaped). */
function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).slice(0, 300);
}
