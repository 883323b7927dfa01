import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { ROOT } from './process';
import { JsonLineAgent } from './python-agent';

let classpath: string | null | undefined;
let skipReason = '';

/**
 * The classpath of the Java interop agent (built once by scripts/install-java-interop.sh, cached
 * by a hash of its pom and sources), or null when no JDK 17+ / Maven is here (see javaSkipReason()).
 */
export function javaAgentClasspath(): string | null {
  if (classpath !== undefined) return classpath;
  const script = path.join(ROOT, 'scripts', 'install-java-interop.sh');
  try {
    const out = execFileSync('bash', [script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 })
      .toString()
      .trim()
      .split('\n');
    classpath = out[out.length - 1];
  } catch (err) {
    const e = err as { status?: number; stderr?: Buffer; message: string };
    if (e.status === 3) {
      classpath = null;
      skipReason = (e.stderr?.toString() ?? '').trim() || 'no JDK or Maven';
      return classpath;
    }
    throw new Error(`Building the Java interop agent failed: ${e.stderr?.toString() ?? e.message}`);
  }
  return classpath;
}

export function javaSkipReason(): string {
  return skipReason;
}

/** Starts the Java interop agent (test/interop/java-agent) against `url` (ws:// or http://). */
export function startJavaAgent(url: string, extra: string[] = []): JsonLineAgent {
  const cp = javaAgentClasspath();
  if (!cp) throw new Error(`java interop agent unavailable: ${skipReason}`);
  // A small heap and one JIT compiler thread: the machine is shared.
  const jvm = ['-Xmx96m', '-XX:TieredStopAtLevel=1', '-XX:CICompilerCount=1', '-Xshare:auto'];
  return new JsonLineAgent('java-agent', 'java', [...jvm, '-cp', cp, 'dev.opampcommander.interop.JavaOpampAgent', '--url', url, ...extra]);
}
