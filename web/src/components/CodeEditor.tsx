import { useEffect, useRef, useState } from 'react';
import type { EditorHandle, EditorOptions } from './codemirror';

/** CodeMirror is a chunk of its own, fetched the first time a page shows an editor, a config or a diff. */
export const loadCodeMirror = () => import('./codemirror');

/** Mounts a CodeMirror editor for `options` in the returned ref's element; keeps it in step with later options. */
function useEditor(options: EditorOptions) {
  const host = useRef<HTMLDivElement>(null);
  const handle = useRef<EditorHandle | undefined>(undefined);
  const latest = useRef(options);
  latest.current = options;
  const [ready, setReady] = useState(false);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let gone = false;
    loadCodeMirror().then(
      (cm) => {
        if (gone || !host.current) return;
        handle.current = cm.createEditor(host.current, latest.current);
        setReady(true);
      },
      () => !gone && setFailed(true),
    );
    return () => {
      gone = true;
      handle.current?.destroy();
      handle.current = undefined;
    };
  }, []);
  useEffect(() => {
    handle.current?.update(options);
  });
  return { host, handle, ready, failed };
}

/**
 * An editor for config bodies: YAML or JSON highlighting by the content type, line numbers, and the
 * API's syntax error marked at its line (the gutter number and a line mark; the message naming line
 * and column is shown by the form, `errorId`). Tab is not taken by the editor (focus moves on).
 */
export function CodeEditor(props: {
  id: string;
  label: string;
  value: string;
  contentType?: string;
  onChange?: (v: string) => void;
  readOnly?: boolean;
  errorLine?: number;
  errorId?: string;
}) {
  const labelId = `${props.id}-label`;
  const { host, handle, ready, failed } = useEditor({
    value: props.value,
    contentType: props.contentType,
    readOnly: props.readOnly,
    labelledBy: labelId,
    describedBy: props.errorId,
    errorLine: props.errorLine,
    onChange: props.onChange,
  });
  return (
    <div className="editor">
      {/* Not a <label for>: the editable element is CodeMirror's content element, labelled by aria-labelledby. */}
      <span id={labelId} className="editor-label" onClick={() => handle.current?.focus()}>
        {props.label}
      </span>
      <div className="editor-box" ref={host} data-testid={`editor-${props.id}`} />
      {!ready && (failed ? <p className="error-text">The editor could not be loaded; reload the page.</p> : <p role="status">Loading the editor…</p>)}
    </div>
  );
}

/** A config body shown read-only, highlighted as YAML or JSON, with line numbers; focusable for keyboard reading. */
export function CodeView(props: { label: string; value: string; contentType?: string }) {
  const { host, ready } = useEditor({ value: props.value, contentType: props.contentType, readOnly: true, label: props.label });
  return (
    <>
      <div className="editor-box config-view" ref={host} />
      {!ready && (
        <pre className="config" aria-label={props.label}>
          {props.value}
        </pre>
      )}
    </>
  );
}
