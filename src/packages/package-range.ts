/**
 * The `Range` header of a download (RFC 9110 §14): one byte range, `bytes=a-b`, `bytes=a-` or
 * `bytes=-n`. Several ranges are not served (the whole file is, as the RFC allows); a range
 * that starts past the end is unsatisfiable (416).
 */
export type RangeAnswer =
  /** No usable Range header: send the whole file (200). */
  | { kind: 'whole' }
  /** Send bytes start..end inclusive (206). */
  | { kind: 'partial'; start: number; end: number }
  /** 416 with `Content-Range: bytes * /size`. */
  | { kind: 'unsatisfiable' };

export function parseRange(header: string | undefined, size: number): RangeAnswer {
  if (header === undefined) return { kind: 'whole' };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  // Other units, several ranges or nonsense: a server may ignore the header and send the whole file.
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'whole' };
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return { kind: 'whole' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end };
}

/** `If-Range` with an entity tag: the range holds only while the file is still that one. */
export function rangeStillValid(ifRange: string | undefined, etag: string): boolean {
  if (ifRange === undefined) return true;
  return ifRange.trim() === etag;
}
