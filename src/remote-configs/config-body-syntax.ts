import { parseAllDocuments } from 'yaml';
import { findJsonSyntaxProblem, lineColumnAt } from './json-syntax-error';

/** The syntax a content type promises, when it is one the server checks. */
export type CheckedSyntax = 'yaml' | 'json';

/** The media type without parameters, lower-cased: `Application/YAML; charset=utf-8` → `application/yaml`. */
export function mediaTypeEssence(contentType: string): string {
  return contentType.split(';')[0].trim().toLowerCase();
}

export function syntaxOf(contentType: string): CheckedSyntax | undefined {
  const t = mediaTypeEssence(contentType);
  if (/^(application|text)\/(x-)?yaml$/.test(t) || /^[a-z0-9.+-]+\/[a-z0-9.+-]+\+yaml$/.test(t)) return 'yaml';
  if (/^(application|text)\/json$/.test(t) || /^[a-z0-9.+-]+\/[a-z0-9.+-]+\+json$/.test(t)) return 'json';
  return undefined;
}

/** Where and why a body does not parse. */
export interface ConfigSyntaxProblem {
  syntax: CheckedSyntax;
  line: number;
  column: number;
  message: string;
}

/**
 * Parses YAML and JSON bodies to refuse broken ones before they are stored or sent to agents;
 * other content types are taken as they are. Returns the first problem, or undefined.
 */
export function findConfigSyntaxProblem(contentType: string, body: string): ConfigSyntaxProblem | undefined {
  const syntax = syntaxOf(contentType);
  if (syntax === 'yaml') {
    for (const doc of parseAllDocuments(body, { prettyErrors: true })) {
      const e = doc.errors[0];
      if (!e) continue;
      const lp = e.linePos?.[0];
      const { line, column } = lp ? { line: lp.line, column: lp.col } : lineColumnAt(body, e.pos[0]);
      // The pretty message repeats the position and quotes the source; keep the first clause.
      const message = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
      return { syntax, line, column, message };
    }
    return undefined;
  }
  if (syntax === 'json') {
    try {
      JSON.parse(body);
      return undefined;
    } catch (err) {
      const p = findJsonSyntaxProblem(body);
      const offset = p?.offset ?? Number(/position (\d+)/.exec(String((err as Error).message))?.[1] ?? 0);
      return { syntax, ...lineColumnAt(body, offset), message: p?.message ?? (err as Error).message };
    }
  }
  return undefined;
}
