import * as path from 'node:path';

/** The media type of a configuration file from its extension (`--content-type` overrides it). */
const BY_EXTENSION: Record<string, string> = {
  '.yaml': 'application/yaml',
  '.yml': 'application/yaml',
  '.json': 'application/json',
  '.toml': 'application/toml',
  '.xml': 'application/xml',
  '.ini': 'text/plain',
  '.conf': 'text/plain',
  '.txt': 'text/plain',
  '.properties': 'text/plain',
};

export function contentTypeFor(file: string): string {
  return BY_EXTENSION[path.extname(file).toLowerCase()] ?? 'text/plain';
}
