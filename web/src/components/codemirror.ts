/**
 * Everything that touches CodeMirror 6. Pages load this module with a dynamic import(), so it is a
 * chunk of its own fetched only where an editor or a diff is shown (the initial bundle stays small).
 */
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { json } from '@codemirror/lang-json';
import { yaml } from '@codemirror/lang-yaml';
import { syntaxHighlighting } from '@codemirror/language';
import { MergeView } from '@codemirror/merge';
import { Compartment, EditorState, RangeSet, StateEffect, StateField, type Extension, type Text } from '@codemirror/state';
import { Decoration, EditorView, GutterMarker, drawSelection, keymap, lineNumberMarkers, lineNumbers } from '@codemirror/view';
import { classHighlighter } from '@lezer/highlight';

/**
 * YAML or JSON by the content type; a body without one (some agents report none) is taken as JSON
 * when it starts like JSON, as YAML otherwise (collector configs are YAML). text/plain: no grammar.
 */
export function languageFor(contentType: string | undefined, body: string): Extension {
  const ct = (contentType ?? '').toLowerCase();
  if (ct.includes('json')) return json();
  if (ct.includes('yaml') || ct.includes('yml')) return yaml();
  if (ct) return [];
  return /^\s*[[{]/.test(body) ? json() : yaml();
}

/** Tokens get stable `tok-*` classes (styled in styles.css), not generated ones. */
const highlighting = syntaxHighlighting(classHighlighter);

/** The error's line number in the gutter, in place of the plain number (data-testid for the browser suite). */
class ErrorNumber extends GutterMarker {
  constructor(readonly line: number) {
    super();
  }
  eq(other: GutterMarker) {
    return other instanceof ErrorNumber && other.line === this.line;
  }
  toDOM() {
    const span = document.createElement('span');
    span.className = 'cm-error-number';
    span.dataset.testid = 'error-line';
    span.textContent = String(this.line);
    return span;
  }
}

const setError = StateEffect.define<number | undefined>();
const errorLineDecoration = Decoration.line({ class: 'cm-error-line' });

/** Where the API's syntax error is: the start of its line, mapped through edits so the mark moves with the text. */
const errorField = StateField.define<number | undefined>({
  create: () => undefined,
  update(pos, tr) {
    for (const e of tr.effects) if (e.is(setError)) return e.value === undefined ? undefined : lineStart(tr.state.doc, e.value);
    return pos === undefined || !tr.docChanged ? pos : tr.changes.mapPos(pos);
  },
  provide: (f) => EditorView.decorations.from(f, (pos) => (pos === undefined ? Decoration.none : Decoration.set([errorLineDecoration.range(pos)]))),
});

/** The gutter shows the number of the line the mark sits on now (a marker cannot know its position, so it is rebuilt). */
const errorNumbers = lineNumberMarkers.compute([errorField, 'doc'], (state) => {
  const pos = state.field(errorField);
  return pos === undefined ? RangeSet.empty : RangeSet.of([new ErrorNumber(state.doc.lineAt(pos).number).range(pos)]);
});

function lineStart(doc: Text, line: number): number {
  return doc.line(Math.min(Math.max(1, line), doc.lines)).from;
}

export interface EditorOptions {
  value: string;
  contentType?: string;
  readOnly?: boolean;
  /** id of the visible label (aria-labelledby), or a label text (aria-label). */
  labelledBy?: string;
  label?: string;
  describedBy?: string;
  errorLine?: number;
  onChange?: (value: string) => void;
}

export interface EditorHandle {
  update(o: EditorOptions): void;
  focus(): void;
  destroy(): void;
}

function ariaAttributes(o: EditorOptions): Record<string, string> {
  const attrs: Record<string, string> = { 'aria-invalid': String(o.errorLine !== undefined) };
  if (o.labelledBy) attrs['aria-labelledby'] = o.labelledBy;
  else if (o.label) attrs['aria-label'] = o.label;
  if (o.describedBy) attrs['aria-describedby'] = o.describedBy;
  return attrs;
}

/**
 * CodeMirror adds its styles in a <style> element; the page's CSP admits it only with the nonce the
 * server put in this page (src/web-ui/web-ui.ts: fresh per page, for styles only, never scripts).
 */
const styleNonce = document.querySelector<HTMLMetaElement>('meta[name="csp-style-nonce"]')?.content;

/** Extensions both the editor and the diff panes share: line numbers, highlighting, read-only when asked. */
function common(o: { contentType?: string; value: string; readOnly?: boolean }): Extension {
  return [
    styleNonce ? EditorView.cspNonce.of(styleNonce) : [],
    lineNumbers(),
    drawSelection(),
    highlighting,
    // No indentWithTab: Tab and Shift-Tab move focus out of the editor as everywhere else on the page.
    keymap.of([...defaultKeymap, ...historyKeymap]),
    EditorState.tabSize.of(2),
    o.readOnly ? EditorState.readOnly.of(true) : [],
  ];
}

/** An editor (or a read-only view) in `parent`. */
export function createEditor(parent: HTMLElement, o: EditorOptions): EditorHandle {
  const language = new Compartment();
  const aria = new Compartment();
  const readOnly = new Compartment();
  let current = o;
  let applying = false;
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: o.value,
      extensions: [
        common({ ...o, readOnly: false }),
        history(),
        readOnly.of(EditorState.readOnly.of(!!o.readOnly)),
        language.of(languageFor(o.contentType, o.value)),
        aria.of(EditorView.contentAttributes.of(ariaAttributes(o))),
        errorField,
        errorNumbers,
        EditorView.updateListener.of((u) => {
          if (u.docChanged && !applying) current.onChange?.(u.state.doc.toString());
        }),
      ],
    }),
  });
  if (o.errorLine !== undefined) view.dispatch({ effects: setError.of(o.errorLine) });
  return {
    update(next) {
      const prev = current;
      current = next;
      const effects: StateEffect<unknown>[] = [];
      if (next.contentType !== prev.contentType) effects.push(language.reconfigure(languageFor(next.contentType, next.value)));
      if (next.readOnly !== prev.readOnly) effects.push(readOnly.reconfigure(EditorState.readOnly.of(!!next.readOnly)));
      if (next.errorLine !== prev.errorLine || next.labelledBy !== prev.labelledBy || next.label !== prev.label || next.describedBy !== prev.describedBy) {
        effects.push(aria.reconfigure(EditorView.contentAttributes.of(ariaAttributes(next))));
      }
      const doc = view.state.doc.toString();
      const changes = next.value !== doc ? { from: 0, to: doc.length, insert: next.value } : undefined;
      if (changes || effects.length) {
        applying = true;
        try {
          view.dispatch({ changes, effects });
        } finally {
          applying = false;
        }
      }
      // After the text, so the mark lands on the line of the text the API refused.
      if (next.errorLine !== prev.errorLine) view.dispatch({ effects: setError.of(next.errorLine) });
    },
    focus: () => view.focus(),
    destroy: () => view.destroy(),
  };
}

export interface MergeOptions {
  a: string;
  b: string;
  aLabel: string;
  bLabel: string;
  contentType?: string;
}

/** A read-only side-by-side diff of two texts in `parent`; returns how many changed blocks it found. */
export function createMerge(parent: HTMLElement, o: MergeOptions): { chunks: number; destroy(): void } {
  const side = (doc: string, label: string) => ({
    doc,
    extensions: [
      common({ contentType: o.contentType, value: doc, readOnly: true }),
      languageFor(o.contentType, doc),
      EditorView.contentAttributes.of({ 'aria-label': label }),
    ],
  });
  const view = new MergeView({ a: side(o.a, o.aLabel), b: side(o.b, o.bLabel), parent, gutter: true, highlightChanges: true });
  return { chunks: view.chunks.length, destroy: () => view.destroy() };
}
