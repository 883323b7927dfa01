import { useRef } from 'react';

/**
 * A plain-text editor for config bodies with line numbers, and the API's syntax error marked at
 * its line (the gutter number, and the message naming line and column).
 */
export function CodeEditor(props: {
  id: string;
  label: string;
  value: string;
  onChange?: (v: string) => void;
  readOnly?: boolean;
  errorLine?: number;
  errorId?: string;
}) {
  const gutter = useRef<HTMLDivElement>(null);
  const lines = Math.max(1, props.value.split('\n').length);
  return (
    <div className="editor">
      <label htmlFor={props.id}>{props.label}</label>
      <div className="editor-box">
        <div className="gutter" ref={gutter} aria-hidden="true">
          {Array.from({ length: lines }, (_, i) => (
            <div key={i} className={i + 1 === props.errorLine ? 'error-line' : undefined} data-testid={i + 1 === props.errorLine ? 'error-line' : undefined}>
              {i + 1}
            </div>
          ))}
        </div>
        <textarea
          id={props.id}
          name={props.id}
          className="code"
          rows={Math.min(Math.max(lines + 1, 10), 30)}
          spellCheck={false}
          wrap="off"
          value={props.value}
          readOnly={props.readOnly}
          aria-invalid={props.errorLine !== undefined}
          aria-describedby={props.errorId}
          onChange={(e) => props.onChange?.(e.target.value)}
          onScroll={(e) => {
            if (gutter.current) gutter.current.scrollTop = e.currentTarget.scrollTop;
          }}
        />
      </div>
    </div>
  );
}
