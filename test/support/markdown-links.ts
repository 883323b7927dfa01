import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Relative links of Markdown files, checked the way GitHub renders them: the file (or folder)
 * must exist, and a `#fragment` into a Markdown file must name one of its headings. Links to
 * other sites are not followed (a test must not depend on the network).
 */

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  const text = heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1') // a link's text
    .replace(/[`*~]/g, '')
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

/** Text with fenced code blocks and inline code removed: links there are examples, not links. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[\s\S]*?^\1/gm, '').replace(/`[^`\n]*`/g, '');
}

/** The anchors a Markdown file offers: its headings' slugs (repeats get -1, -2, …) and explicit ids. */
export function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of markdown.replace(/^(```|~~~)[\s\S]*?^\1/gm, '').matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  for (const m of markdown.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) out.add(m[1]);
  return out;
}

/** Every `[text](target)` and `[ref]: target` of the prose, as written. */
export function linksOf(markdown: string): string[] {
  const text = prose(markdown);
  const out: string[] = [];
  for (const m of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push(m[1]);
  for (const m of text.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)) out.push(m[1]);
  return out;
}

/** The broken relative links of `files` (paths), each as "file: target (why)", the file relative to `root`. */
export function brokenLinks(files: string[], root = process.cwd()): string[] {
  const problems: string[] = [];
  for (const file of files) {
    const markdown = fs.readFileSync(file, 'utf8');
    for (const link of linksOf(markdown)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // https:, mailto:, …: another site
      const [target, fragment] = link.split('#', 2) as [string, string | undefined];
      const resolved = target ? path.resolve(path.dirname(file), decodeURIComponent(target)) : file;
      if (!fs.existsSync(resolved)) {
        problems.push(`${path.relative(root, file)}: ${link} (no such file)`);
        continue;
      }
      if (fragment === undefined || !resolved.endsWith('.md')) continue;
      if (!anchorsOf(fs.readFileSync(resolved, 'utf8')).has(decodeURIComponent(fragment)))
        problems.push(`${path.relative(root, file)}: ${link} (no heading #${fragment})`);
    }
  }
  return problems;
}
