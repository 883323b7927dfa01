/**
 * What the rest of the server may ask of the package catalogue (issue 21). The catalogue module
 * (`src/packages/`) owns the AgentPackage resources and their stored files; the offers side
 * (desired state, the OpAMP session's PackagesAvailable) only reads through this port, so the two
 * halves can change independently. The catalogue module provides the implementation under this
 * abstract class as the DI token.
 */

/** OpAMP's PackageType: the agent itself, or something it loads beside itself. */
export type AgentPackageType = 'top-level' | 'addon';

/** Where an agent runs, as its description says (`os.type`, `host.arch`); used to pick a file. */
export interface AgentPlatform {
  os?: string;
  arch?: string;
}

/** One downloadable file of a package version, ready to be put into a DownloadableFile. */
export interface PackageFileOffer {
  /** Absolute URL the agent downloads from: the server's own download endpoint, or an external URL. */
  downloadUrl: string;
  /** SHA-256 of the file's bytes (32 bytes). */
  contentHash: Uint8Array;
  /** The signature the uploader gave (passed through to the agent as-is); empty when none. */
  signature: Uint8Array;
  /** HTTP headers the agent must send when downloading (e.g. its enrollment token is added by the session, not here). */
  headers: Record<string, string>;
  /** Size in bytes when known. */
  size?: number;
}

/** A package version as the offers side needs it. */
export interface CataloguedPackage {
  name: string;
  version: string;
  type: AgentPackageType;
  /** SHA-256 (hex) of each of its files, one per platform: what identifies the version an agent reports it runs. */
  fileHashes: string[];
}

export abstract class PackageCatalogue {
  /** The package version, or undefined when no such name/version is catalogued (or it is deleted). */
  abstract find(name: string, version: string): Promise<CataloguedPackage | undefined>;
  /** Every catalogued version of a package, highest first by semantic-version order. */
  abstract versions(name: string): Promise<CataloguedPackage[]>;
  /**
   * The file of `name@version` an agent on `platform` should download, or undefined when the version
   * has no file for that platform. `baseUrl` is how agents reach this server's download endpoint.
   */
  abstract fileFor(name: string, version: string, platform: AgentPlatform, baseUrl: string): Promise<PackageFileOffer | undefined>;
}
