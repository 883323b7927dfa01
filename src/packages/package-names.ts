import { DNS_LABEL_MAX_LENGTH, DNS_LABEL_PATTERN } from '../common/resource-name';

/**
 * The names of the package catalogue: a package is a DNS label like every resource name; a
 * version is a semantic-version-like token; a catalogued version is addressed as one path
 * segment `NAME@VERSION` (the npm and Go habit), so that get/describe/delete, audit and paging
 * key it by one string like every other resource.
 */

/** Versions: a letter or digit, then letters, digits, `.`, `_`, `+`, `-` (semver's alphabet plus `_`); never `/` or `@`. */
export const PACKAGE_VERSION_PATTERN = /^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}$/;
export const PACKAGE_VERSION_MESSAGE =
  'must be a version such as 1.2.3 or 0.9.0-rc.1: at most 64 letters, digits, ".", "_", "+" and "-", starting with a letter or digit';

/** `NAME@VERSION`. */
export const PACKAGE_ID_PATTERN = new RegExp(`^${DNS_LABEL_PATTERN.source.slice(1, -1)}@${PACKAGE_VERSION_PATTERN.source.slice(1, -1)}$`);
export const PACKAGE_ID_MAX_LENGTH = DNS_LABEL_MAX_LENGTH + 1 + 64;

/** File names: one path segment of safe characters; no separators, no NUL, not `.` or `..`. */
export const PACKAGE_FILE_NAME_PATTERN = /^[A-Za-z0-9_+-][A-Za-z0-9._+-]{0,254}$/;
export const PACKAGE_FILE_NAME_MESSAGE =
  'must be a plain file name: at most 255 letters, digits, ".", "_", "+" and "-", not starting with "." (no "/", "\\", NUL or "..")';

/** Platforms: `os` or `os/arch`, lower-case tokens as agents report them (`linux/amd64`, `windows/arm64`, `darwin`). */
export const PLATFORM_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,31}(\/[a-z0-9][a-z0-9_.-]{0,31})?$/;
export const PLATFORM_MESSAGE = 'must be "os" or "os/arch" in lower case, e.g. linux/amd64';

export const SHA256_HEX_PATTERN = /^[0-9a-f]{64}$/;

export interface PackageId {
  name: string;
  version: string;
}

export function packageId(name: string, version: string): string {
  return `${name}@${version}`;
}

/** `NAME@VERSION` split in two, or undefined when it is not one. */
export function parsePackageId(id: string): PackageId | undefined {
  if (id.length > PACKAGE_ID_MAX_LENGTH || !PACKAGE_ID_PATTERN.test(id)) return undefined;
  const at = id.indexOf('@');
  return { name: id.slice(0, at), version: id.slice(at + 1) };
}

export function isPackageFileName(name: string): boolean {
  return PACKAGE_FILE_NAME_PATTERN.test(name);
}

export function isPackageVersion(version: string): boolean {
  return PACKAGE_VERSION_PATTERN.test(version);
}

/** Why a file name is refused, in words a user understands; undefined when it is fine. */
export function fileNameProblem(name: string): string | undefined {
  if (name.includes('\0')) return 'contains a NUL character';
  if (name.includes('/') || name.includes('\\')) return 'contains a path separator ("/" or "\\"); give a plain file name';
  if (name === '.' || name === '..') return 'is a relative path component';
  if (!isPackageFileName(name)) return PACKAGE_FILE_NAME_MESSAGE;
  return undefined;
}

/**
 * Semantic-version order (semver 2.0 precedence) extended to any version token: dot-separated
 * numeric parts compare as numbers, others as text; a pre-release (`-…`) is below its release;
 * build metadata (`+…`) is ignored except as a last tie-break so the order is total.
 */
export function compareVersions(a: string, b: string): number {
  const [aMain, aPre, aBuild] = splitVersion(a);
  const [bMain, bPre, bBuild] = splitVersion(b);
  const main = compareParts(aMain, bMain);
  if (main) return main;
  if (aPre === undefined && bPre !== undefined) return 1;
  if (aPre !== undefined && bPre === undefined) return -1;
  if (aPre !== undefined && bPre !== undefined) {
    const pre = compareParts(aPre, bPre);
    if (pre) return pre;
  }
  return (aBuild ?? '') < (bBuild ?? '') ? -1 : (aBuild ?? '') > (bBuild ?? '') ? 1 : 0;
}

function splitVersion(v: string): [string[], string[] | undefined, string | undefined] {
  const plus = v.indexOf('+');
  const build = plus >= 0 ? v.slice(plus + 1) : undefined;
  const rest = plus >= 0 ? v.slice(0, plus) : v;
  const dash = rest.indexOf('-');
  const main = (dash >= 0 ? rest.slice(0, dash) : rest).replace(/^v/, '');
  const pre = dash >= 0 ? rest.slice(dash + 1).split('.') : undefined;
  return [main.split('.'), pre, build];
}

function compareParts(a: string[], b: string[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] === undefined) return -1;
    if (b[i] === undefined) return 1;
    const an = /^[0-9]+$/.test(a[i]);
    const bn = /^[0-9]+$/.test(b[i]);
    if (an && bn) {
      const d = BigInt(a[i]) - BigInt(b[i]);
      if (d !== 0n) return d < 0n ? -1 : 1;
    } else if (an !== bn) {
      // Numeric identifiers have lower precedence than alphanumeric ones (semver 11.4.3).
      return an ? -1 : 1;
    } else if (a[i] !== b[i]) {
      return a[i] < b[i] ? -1 : 1;
    }
  }
  return 0;
}

/** `os/arch` → its parts. */
export function parsePlatform(platform: string | undefined): { os?: string; arch?: string } {
  if (!platform) return {};
  const [os, arch] = platform.split('/');
  return { os, ...(arch ? { arch } : {}) };
}
