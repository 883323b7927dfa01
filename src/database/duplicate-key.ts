/** True for MongoDB's duplicate-key error (E11000): an insert lost to another of the same key. */
export function isDuplicateKey(err: unknown): boolean {
  return (err as { code?: number } | undefined)?.code === 11000;
}
