import { stringify } from 'yaml';
import { UsageError } from './cli-errors';
import { formatAge } from './human-time';
import type { Resource } from './resource-fields';
import { ColumnDef, qualifiedName, ResourceType } from './resource-types';
import { renderTable, TableColumn } from './table';

/** `-o table|wide|json|yaml|name`: how resources are printed. */

export const OUTPUT_FORMATS = ['table', 'wide', 'json', 'yaml', 'name'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function parseOutputFormat(value: string | undefined, allowed: readonly OutputFormat[] = OUTPUT_FORMATS): OutputFormat {
  const v = (value ?? 'table') as OutputFormat;
  if (!allowed.includes(v)) throw new UsageError(`unknown output format "${value}" (one of: ${allowed.join(', ')})`);
  return v;
}

/** YAML the way manifests are written: block literals for multi-line strings, no line folding. */
export function toYaml(value: unknown): string {
  return stringify(value, { blockQuote: 'literal', lineWidth: 0, aliasDuplicateObjects: false });
}

export function toJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/**
 * The table columns of a type. `deleted`: soft-deleted resources may be among the rows, so a
 * DELETED column after the name says which (and since when) — they must not look live.
 */
export function columnsFor(t: ResourceType, wide: boolean, deleted = false): ColumnDef[] {
  const cols = t.columns.filter((c) => wide || !c.wide);
  return deleted && t.softDelete ? [cols[0], DELETED_COLUMN, ...cols.slice(1)] : cols;
}

const DELETED_COLUMN: ColumnDef = {
  header: 'DELETED',
  value: (r, now) => (r.metadata?.deletedAt ? `${formatAge(r.metadata.deletedAt as string, now)} ago` : '-'),
};

export function rowOf(columns: ColumnDef[], r: Resource, now: number): string[] {
  return columns.map((c) => c.value(r, now));
}

export interface PrintOptions {
  format: OutputFormat;
  /** Terminal width for tables; undefined when stdout is not a terminal. */
  width?: number;
  headers?: boolean;
  now?: number;
}

/**
 * Renders resources of one type. Lists print as a `<Kind>List` in json/yaml; a single named
 * resource (`single`) prints as itself.
 */
export function formatResources(t: ResourceType, items: Resource[], opts: PrintOptions, single = false): string {
  const now = opts.now ?? Date.now();
  switch (opts.format) {
    case 'json':
      return toJson(single && items.length === 1 ? items[0] : { kind: `${t.kind}List`, apiVersion: 'v1', items });
    case 'yaml':
      return toYaml(single && items.length === 1 ? items[0] : { kind: `${t.kind}List`, apiVersion: 'v1', items });
    case 'name':
      return items.map((r) => `${qualifiedName(t, r)}\n`).join('');
    default: {
      const columns = columnsFor(
        t,
        opts.format === 'wide',
        items.some((r) => r.metadata?.deletedAt),
      );
      const { lines } = renderTable(
        columns as TableColumn[],
        items.map((r) => rowOf(columns, r, now)),
        { maxWidth: opts.width, headers: opts.headers ?? true },
      );
      return lines.length ? `${lines.join('\n')}\n` : '';
    }
  }
}
