import { mongo } from 'mongoose';
import { ContentStore } from '../database/content-store/content-store';
import { parseContentId, sha256Hex } from '../database/content-store/content-id';
import { configMapHash } from '../protocol/config-hash';
import type { Agent, StoredConfigFile, StoredEffectiveConfig, StoredHealth } from './agent.schema';

/** A stored body as a Buffer (lean reads give the driver's Binary for Mixed fields). */
export function asBuffer(b: unknown): Buffer {
  if (Buffer.isBuffer(b)) return b;
  if (b && typeof b === 'object' && 'buffer' in b) return Buffer.from((b as { buffer: Uint8Array }).buffer);
  if (typeof b === 'string') return Buffer.from(b, 'utf8');
  return Buffer.alloc(0);
}

/** A config file's body as the content store keeps it (name and content type with it: the hash covers them). */
interface StoredFileBody {
  name: string;
  contentType: string;
  body: Buffer;
}

/** The hash (hex) of an effective config map: the OpAMP config map hash, from the ref when there is one. */
export function effectiveConfigHashHex(e: StoredEffectiveConfig): string {
  const fromRef = e.ref ? parseContentId(e.ref)?.hash : undefined;
  if (fromRef) return fromRef;
  return configMapHash(e.configMap.map((f) => ({ fileName: f.name, contentType: f.contentType ?? '', body: asBuffer(f.body) }))).toString('hex');
}

/**
 * The agent document's large shared parts, stored once by content (src/database/content-store):
 * `lean` turns reported parts into what the document keeps (refs and summaries) after storing
 * the bodies, `join` puts the bodies back for the views that show them. What the REST API
 * shows is the same either way.
 */
export class AgentBodies {
  constructor(private readonly store: ContentStore) {}

  /**
   * The parts to write, with effective config bodies and the health component tree stored in
   * the content store first (a ref never points at nothing). A body already known costs nothing.
   */
  async lean(parts: Partial<Agent>): Promise<Partial<Agent>> {
    const [effectiveConfig, health] = await Promise.all([
      parts.effectiveConfig ? this.leanEffectiveConfig(parts.effectiveConfig) : undefined,
      parts.health ? this.leanHealth(parts.health) : undefined,
    ]);
    const out = { ...parts };
    if (effectiveConfig) out.effectiveConfig = effectiveConfig;
    if (health) out.health = health;
    return out;
  }

  /** True when the document holds bodies inline (stored before the content store): its next write moves them. */
  static holdsInline(doc: Pick<Agent, 'effectiveConfig' | 'health'>): boolean {
    const e = doc.effectiveConfig;
    const h = doc.health;
    return (!!e && !e.ref && (e.configMap?.length ?? 0) > 0) || (!!h && !h.componentsRef && (h.componentCount ?? 1) > 0);
  }

  /** The documents with their bodies joined back, in one read of the content store for all of them. */
  async join<T extends Partial<Agent>>(docs: T[]): Promise<T[]> {
    const ids = new Set<string>();
    for (const d of docs) {
      if (d.effectiveConfig?.ref) ids.add(d.effectiveConfig.ref);
      if (d.health?.componentsRef) ids.add(d.health.componentsRef);
    }
    if (ids.size === 0) return docs;
    const bodies = await this.store.getMany(ids);
    return docs.map((d) => {
      const out = { ...d };
      const e = d.effectiveConfig;
      if (e?.ref) {
        const files = new Map(((bodies.get(e.ref) as StoredFileBody[] | undefined) ?? []).map((f) => [f.name, f.body]));
        out.effectiveConfig = { ...e, configMap: e.configMap.map((f) => ({ ...f, body: files.has(f.name) ? asBuffer(files.get(f.name)) : f.body })) };
      }
      const h = d.health;
      if (h?.componentsRef) out.health = { ...h, components: (bodies.get(h.componentsRef) as StoredHealth['components'] | undefined) ?? [] };
      return out;
    });
  }

  private async leanEffectiveConfig(e: StoredEffectiveConfig): Promise<StoredEffectiveConfig> {
    if (e.ref || e.configMap.length === 0) return e;
    const files: StoredFileBody[] = e.configMap.map((f) => ({ name: f.name, contentType: f.contentType ?? '', body: asBuffer(f.body) }));
    const hash = configMapHash(files.map((f) => ({ fileName: f.name, contentType: f.contentType, body: f.body }))).toString('hex');
    const size = files.reduce((n, f) => n + f.body.length, 0);
    const ref = await this.store.put('effective-config', hash, files, size);
    return { ref, configMap: e.configMap.map(({ name, contentType, body }): StoredConfigFile => ({ name, contentType, size: asBuffer(body).length })) };
  }

  private async leanHealth(h: StoredHealth): Promise<StoredHealth> {
    if (h.componentsRef || h.components.length === 0) return h;
    // The canonical bytes of a tree: its BSON, whose field and component order the mapper fixes.
    const bytes = mongo.BSON.serialize({ components: h.components });
    const ref = await this.store.put('health', sha256Hex(bytes), h.components, bytes.length);
    return { ...h, components: [], componentsRef: ref };
  }
}
