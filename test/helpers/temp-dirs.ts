/**
 * Fresh temporary folders for a test file, removed after it: `const freshDir = useTempDirs('name')`.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll } from 'vitest';

export function useTempDirs(prefix: string): () => string {
  let root = '';
  let count = 0;
  beforeAll(() => {
    root = mkdtempSync(path.join(os.tmpdir(), `rnnkit-${prefix}-`));
  });
  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });
  return () => {
    const d = path.join(root, `m${++count}`);
    mkdirSync(d, { recursive: true });
    return d;
  };
}
