import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { DesiredStateChangeReason, DesiredStateEvents } from '../common/desired-state-events';
import { ConflictError, InvalidError, NotFoundError } from '../common/domain-errors';
import { DATABASE_PROFILE, DatabaseProfile, KeyedWrites } from '../database/database-profile';
import { findConfigSyntaxProblem } from './config-body-syntax';
import { unifiedDiff } from './line-diff';
import { RemoteConfig, RemoteConfigRevision, StoredRevision } from './remote-config.schema';
import { RemoteConfigsRepository } from './remote-configs.repository';

/** A remote config as stored (the head with a copy of its latest revision). */
export type RemoteConfigRecord = RemoteConfig;

/** What the desired-state code needs of one revision: the exact bytes to send and their identity. */
export interface RemoteConfigContent {
  name: string;
  revision: number;
  /** sha256 hex over content type, NUL, body. */
  hash: string;
  body: Buffer;
  contentType: string;
}

/** The content of a create or replace. */
export interface RemoteConfigInput {
  contentType?: string;
  body: string;
  description?: string;
}

/** Who makes a change and why; recorded on the revision it creates. */
export interface ChangeAuthor {
  author: string;
  message?: string;
}

/** Names of the active agent groups that refer to a remote config (supplied by the agent-groups module). */
export type RemoteConfigReferenceFinder = (configName: string) => Promise<string[]>;

export const DEFAULT_CONTENT_TYPE = 'application/yaml';

/** sha256 hex over the content type, a NUL byte and the body, all UTF-8. */
export function contentHash(contentType: string, body: string): string {
  return createHash('sha256').update(contentType, 'utf8').update('\0').update(body, 'utf8').digest('hex');
}

/**
 * Remote configurations: named documents whose every content change is an immutable, numbered
 * revision. Each change commits with one compare-and-set of the head document on its
 * resourceVersion; nothing else is written before that succeeds, so a refused or failed request
 * leaves nothing behind.
 */
/**
 * Told around the commit of a config's new revision: `before` may hold groups back on the
 * revision they run (a group's rollout policy), `after` starts what moves them on; `before`'s
 * result is handed to `after`.
 */
export interface RevisionHooks {
  before(config: string): Promise<unknown>;
  after(config: string, token: unknown): Promise<void>;
}

@Injectable()
export class RemoteConfigsService {
  private readonly logger = new Logger(RemoteConfigsService.name);
  private referenceFinder?: RemoteConfigReferenceFinder;
  private revisionHooks?: RevisionHooks;
  /** Guards each config's read-check-commit where the database's compare-and-set is not atomic. */
  private readonly writes: KeyedWrites;

  constructor(
    private readonly store: RemoteConfigsRepository,
    private readonly events: DesiredStateEvents,
    @Inject(DATABASE_PROFILE) profile: DatabaseProfile,
  ) {
    this.writes = profile.keyedWrites();
  }

  /** The agent-groups module hears of new revisions around their commit (groups whose rollout policy holds them back). */
  setRevisionHooks(hooks: RevisionHooks): void {
    this.revisionHooks = hooks;
  }

  /** Commits a head with a new latest revision between the hooks' before and after. */
  private async commitRevision(head: RemoteConfig, fields: Partial<RemoteConfig>): Promise<RemoteConfig | undefined> {
    const token = await this.revisionHooks?.before(head._id);
    const updated = await this.commit(head, fields);
    if (updated) await this.revisionHooks?.after(head._id, token);
    return updated;
  }

  /** The agent-groups module tells which groups use a config (it depends on this module, not the reverse). */
  setReferenceFinder(finder: RemoteConfigReferenceFinder): void {
    this.referenceFinder = finder;
  }

  async create(name: string, input: RemoteConfigInput, change: ChangeAuthor): Promise<RemoteConfigRecord> {
    return this.writes.run(name, () => this.createLocked(name, input, change));
  }

  private async createLocked(name: string, input: RemoteConfigInput, change: ChangeAuthor): Promise<RemoteConfigRecord> {
    const content = this.checkedContent(input);
    const now = new Date();
    const existing = await this.store.findHead(name);
    if (existing && !existing.deletedAt) throw new ConflictError(`remoteconfig "${name}" already exists`);

    if (!existing) {
      const head: RemoteConfig = {
        _id: name,
        description: input.description,
        resourceVersion: 1,
        latest: { revision: 1, ...content, author: change.author, message: change.message ?? 'created', createdAt: now },
        createdAt: now,
        updatedAt: now,
        deletedAt: null,
      };
      if (!(await this.store.insertHead(head))) throw new ConflictError(`remoteconfig "${name}" already exists`);
      await this.storeRevision(name, head.latest);
      await this.publish('remoteconfig.created', name);
      return head;
    }

    // Re-creating a soft-deleted name revives it; its history (and revision numbers) carry on.
    const same = existing.latest.hash === content.hash;
    const latest = same
      ? existing.latest
      : { revision: existing.latest.revision + 1, ...content, author: change.author, message: change.message ?? 'created again', createdAt: now };
    const updated = await this.commit(
      existing,
      { latest, description: input.description, createdAt: now, updatedAt: now, deletedAt: null },
      { deletedAt: { $ne: null } },
    );
    if (!updated) throw new ConflictError(`remoteconfig "${name}" was changed concurrently; retry`);
    await this.publish('remoteconfig.created', name);
    return updated;
  }

  /** One page of remote configs in name order, after the name `after`. */
  async list(limit: number, after?: string, includeDeleted = false): Promise<{ items: RemoteConfigRecord[]; remaining: number }> {
    return this.store.pageHeads(limit, after, includeDeleted);
  }

  async get(name: string, includeDeleted = false): Promise<RemoteConfigRecord> {
    const head = await this.store.findHead(name);
    if (!head || (head.deletedAt && !includeDeleted)) throw new NotFoundError(`remoteconfig "${name}" not found`);
    return head;
  }

  /**
   * Replaces content and description when `resourceVersion` is current (else 409). A new revision
   * is made only when content type or body change.
   */
  async replace(name: string, resourceVersion: string, input: RemoteConfigInput, change: ChangeAuthor): Promise<RemoteConfigRecord> {
    return this.writes.run(name, () => this.replaceLocked(name, resourceVersion, input, change));
  }

  private async replaceLocked(name: string, resourceVersion: string, input: RemoteConfigInput, change: ChangeAuthor): Promise<RemoteConfigRecord> {
    const content = this.checkedContent(input);
    const head = await this.get(name);
    this.checkResourceVersion(head, resourceVersion);
    const same = head.latest.hash === content.hash;
    if (same && (head.description ?? undefined) === (input.description ?? undefined)) return head;
    const latest = same
      ? head.latest
      : { revision: head.latest.revision + 1, ...content, author: change.author, message: change.message ?? '', createdAt: new Date() };
    const fields = { latest, description: input.description, updatedAt: new Date() };
    const updated = same ? await this.commit(head, fields) : await this.commitRevision(head, fields);
    if (!updated) throw this.stale(name);
    await this.publish(same ? 'remoteconfig.updated' : 'remoteconfig.revised', name);
    return updated;
  }

  /** Makes a new revision whose content equals revision `revision` (none when the latest already has it). */
  async rollback(name: string, revision: number, change: ChangeAuthor, resourceVersion?: string): Promise<RemoteConfigRecord> {
    return this.writes.run(name, () => this.rollbackLocked(name, revision, change, resourceVersion));
  }

  private async rollbackLocked(name: string, revision: number, change: ChangeAuthor, resourceVersion?: string): Promise<RemoteConfigRecord> {
    for (let attempt = 0; ; attempt++) {
      const head = await this.get(name);
      if (resourceVersion !== undefined) this.checkResourceVersion(head, resourceVersion);
      const target = await this.findRevision(name, revision);
      if (target.hash === head.latest.hash) return head;
      const latest: StoredRevision = {
        revision: head.latest.revision + 1,
        hash: target.hash,
        contentType: target.contentType,
        body: target.body,
        author: change.author,
        message: change.message ?? `rollback to revision ${revision}`,
        createdAt: new Date(),
      };
      const updated = await this.commitRevision(head, { latest, updatedAt: new Date() });
      if (updated) {
        await this.publish('remoteconfig.rolledback', name);
        return updated;
      }
      // Without a resourceVersion from the client, a concurrent change is retried a few times.
      if (resourceVersion !== undefined || attempt >= 2) throw this.stale(name);
    }
  }

  /** Soft delete; refused while an active agent group refers to the config. */
  async delete(name: string): Promise<RemoteConfigRecord> {
    return this.writes.run(name, () => this.deleteLocked(name));
  }

  private async deleteLocked(name: string): Promise<RemoteConfigRecord> {
    const head = await this.get(name);
    const groups = await this.referringGroups(name);
    if (groups.length) {
      throw new ConflictError(`remoteconfig "${name}" is used by agent group${groups.length > 1 ? 's' : ''} ${groups.join(', ')}; remove it from them first`, {
        groups,
      });
    }
    const now = new Date();
    const updated = await this.commit(head, { deletedAt: now, updatedAt: now }, { deletedAt: null });
    if (!updated) throw this.stale(name);
    await this.publish('remoteconfig.deleted', name);
    return updated;
  }

  /** History, newest first, `before` being the last revision number of the previous page. */
  async listRevisions(name: string, limit: number, before?: number, includeDeleted = false): Promise<{ items: StoredRevision[]; remaining: number }> {
    const head = await this.get(name, includeDeleted);
    let page = await this.store.pageRevisions(name, limit, before);
    if (before === undefined && page.items[0]?.revision !== head.latest.revision) {
      // The latest revision's document was not written yet (see storeRevision): write it, read again.
      await this.storeRevision(name, head.latest);
      page = await this.store.pageRevisions(name, limit, before);
    }
    return { items: page.items.map(toStoredRevision), remaining: page.remaining };
  }

  /** One revision with its author and message. */
  async findRevision(name: string, revision: number | 'latest', includeDeleted = false): Promise<StoredRevision> {
    const head = await this.get(name, includeDeleted);
    const n = revision === 'latest' ? head.latest.revision : revision;
    if (n === head.latest.revision) return head.latest;
    const doc = n < head.latest.revision ? await this.store.findRevision(name, n) : undefined;
    if (!doc) throw new NotFoundError(`remoteconfig "${name}" has no revision ${n} (latest is ${head.latest.revision})`);
    return toStoredRevision(doc);
  }

  /**
   * For desired-state computation: the content of one revision (or the latest) of an active
   * remote config. Throws NotFoundError for an unknown or deleted config or revision.
   */
  async getRevision(name: string, revision: number | 'latest'): Promise<RemoteConfigContent> {
    const r = await this.findRevision(name, revision);
    return { name, revision: r.revision, hash: r.hash, body: Buffer.from(r.body, 'utf8'), contentType: r.contentType };
  }

  /** Latest revision number of each named config that exists and is not deleted. */
  async latestRevisions(names: string[]): Promise<Map<string, number>> {
    return this.store.latestRevisions(names);
  }

  /** Unified diff of the bodies of two revisions: `to` defaults to the latest, `from` to the one before `to`. */
  async diff(name: string, from?: number, to?: number, context = 3, includeDeleted = false): Promise<string> {
    const head = await this.get(name, includeDeleted);
    const toN = to ?? head.latest.revision;
    const fromN = from ?? toN - 1;
    if (fromN < 1)
      throw new InvalidError(`remoteconfig "${name}" has only revision ${toN}; give "from"`, {
        errors: [{ field: 'from', message: 'no revision before "to"' }],
      });
    const [a, b] = await Promise.all([this.findRevision(name, fromN, includeDeleted), this.findRevision(name, toN, includeDeleted)]);
    const text = unifiedDiff(a.body, b.body, { fromLabel: `${name}@${a.revision}`, toLabel: `${name}@${b.revision}`, context });
    if (a.contentType === b.contentType) return text;
    const note = `contentType: ${a.contentType} -> ${b.contentType}\n`;
    return text ? note + text : note;
  }

  /** Checks the body parses as its content type says, and computes its hash. */
  private checkedContent(input: RemoteConfigInput): Omit<StoredRevision, 'revision' | 'author' | 'message' | 'createdAt'> {
    const contentType = (input.contentType ?? DEFAULT_CONTENT_TYPE).trim();
    const problem = findConfigSyntaxProblem(contentType, input.body);
    if (problem) {
      const what = `${problem.syntax === 'yaml' ? 'YAML' : 'JSON'} syntax error at line ${problem.line}, column ${problem.column}: ${problem.message}`;
      throw new InvalidError(`spec.body: ${what}`, { errors: [{ field: 'spec.body', message: what }], line: problem.line, column: problem.column });
    }
    return { contentType, body: input.body, hash: contentHash(contentType, input.body) };
  }

  private checkResourceVersion(head: RemoteConfig, resourceVersion: string): void {
    if (String(head.resourceVersion) !== resourceVersion) throw this.stale(head._id, resourceVersion);
  }

  private stale(name: string, sent?: string): ConflictError {
    return new ConflictError(`remoteconfig "${name}" has been changed since${sent ? ` resourceVersion ${sent}` : ''} was read; read it again and retry`);
  }

  /**
   * The one commit point: sets `fields` on the head iff its resourceVersion is still the one read.
   * Before a new revision is committed, the previous latest revision is made sure to be stored.
   */
  private async commit(head: RemoteConfig, fields: Partial<RemoteConfig>, extraFilter: Record<string, unknown> = {}): Promise<RemoteConfig | undefined> {
    const newRevision = fields.latest && fields.latest.revision !== head.latest.revision;
    if (newRevision) await this.storeRevision(head._id, head.latest, true);
    const next = await this.store.compareAndSet(head, fields, extraFilter);
    if (!next) return undefined;
    if (newRevision) await this.storeRevision(head._id, next.latest);
    return next;
  }

  /**
   * Writes a revision document derived from a committed head. Idempotent. Unless `strict`, a
   * failure is logged only: the head keeps the revision, and it is written again before the next
   * revision is committed (strictly then) or when the history is read.
   */
  private async storeRevision(config: string, r: StoredRevision, strict = false): Promise<void> {
    try {
      await this.store.storeRevision(config, r);
    } catch (err) {
      if (strict) throw err;
      this.logger.warn(`revision ${config}/${r.revision} not stored yet: ${err}`);
    }
  }

  private async referringGroups(name: string): Promise<string[]> {
    return this.referenceFinder ? [...(await this.referenceFinder(name))].sort() : [];
  }

  private async publish(reason: DesiredStateChangeReason, name: string): Promise<void> {
    let groups: string[] = [];
    try {
      groups = await this.referringGroups(name);
    } catch (err) {
      this.logger.warn(`could not find the groups using remoteconfig "${name}": ${err}`);
    }
    this.events.publish({ reason, configs: [name], groups });
  }
}

function toStoredRevision(d: RemoteConfigRevision): StoredRevision {
  return { revision: d.revision, hash: d.hash, contentType: d.contentType, body: d.body, author: d.author, message: d.message, createdAt: d.createdAt };
}
