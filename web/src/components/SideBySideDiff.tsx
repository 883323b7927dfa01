import { useEffect, useRef, useState } from 'react';
import { loadCodeMirror } from './CodeEditor';

/**
 * Two texts side by side (CodeMirror's merge view): changed lines marked on both sides, changed
 * characters within them, line numbers on each. Read-only; each side labelled for screen readers.
 */
export function SideBySideDiff(props: { a: string; b: string; aLabel: string; bLabel: string; contentType?: string; label: string }) {
  const host = useRef<HTMLDivElement>(null);
  const [chunks, setChunks] = useState<number | undefined>(undefined);
  const { a, b, aLabel, bLabel, contentType } = props;
  useEffect(() => {
    let gone = false;
    let destroy: (() => void) | undefined;
    loadCodeMirror().then((cm) => {
      if (gone || !host.current) return;
      const merge = cm.createMerge(host.current, { a, b, aLabel, bLabel, contentType });
      destroy = merge.destroy;
      setChunks(merge.chunks);
    });
    return () => {
      gone = true;
      destroy?.();
    };
  }, [a, b, aLabel, bLabel, contentType]);
  return (
    <div role="group" aria-label={props.label} className="merge">
      <div className="merge-heads" aria-hidden="true">
        <span>{aLabel}</span>
        <span>{bLabel}</span>
      </div>
      <div ref={host} />
      {chunks !== undefined && (
        <p className="hint" data-testid="diff-summary">
          {chunks === 0 ? 'No differences.' : `${chunks} changed ${chunks === 1 ? 'block' : 'blocks'}.`}
        </p>
      )}
    </div>
  );
}
