import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import type { Connection, mongo } from 'mongoose';
import { mongo as driver } from 'mongoose';
import { Counter } from 'prom-client';
import { sharedMetric } from '../metrics/registry';

/** The commands whose documents are writes, and the field that carries their statements. */
const WRITE_PAYLOAD: Record<string, string> = { insert: 'documents', update: 'updates', delete: 'deletes', findAndModify: 'update' };

/** What this server has asked of its database so far (see DatabaseWork). */
export interface DatabaseWorkTotals {
  /** Commands sent, by command name (`find`, `update`, …; driver handshakes and pings included). */
  commands: Record<string, number>;
  /** Documents inserted, matched by updates (upserts included) and deleted, as the database answered. */
  writtenDocuments: number;
  /** BSON bytes of the write statements sent (inserted documents, update and delete statements). */
  writtenBytes: number;
}

function counter(name: string, help: string, labelNames: string[]): Counter<string> {
  return sharedMetric(name, () => new Counter({ name, help, labelNames }));
}

/**
 * Counts the database work of this server from the driver's command monitoring
 * (`monitorCommands: true`): commands by name, documents written and bytes of write statements,
 * as Prometheus counters (`mongodb_commands_total`, `mongodb_written_documents_total`,
 * `mongodb_written_bytes_total`) and as totals for budgets and benchmarks. The same whatever
 * the engine, so a budget measured on one database holds on another.
 */
@Injectable()
export class DatabaseWork implements OnModuleInit {
  private readonly totals: DatabaseWorkTotals = { commands: {}, writtenDocuments: 0, writtenBytes: 0 };
  private readonly commands = counter('mongodb_commands_total', 'Database commands sent by this server, by command', ['command']);
  private readonly documents = counter('mongodb_written_documents_total', 'Documents inserted, updated (matched) or deleted, by command', ['command']);
  private readonly bytes = counter('mongodb_written_bytes_total', 'BSON bytes of the write statements sent, by command', ['command']);

  constructor(@InjectConnection() private readonly connection: Connection) {}

  onModuleInit(): void {
    const client = this.connection.getClient();
    client.on('commandStarted', (e) => this.started(e));
    client.on('commandSucceeded', (e) => this.succeeded(e));
  }

  /** A copy of the totals so far. */
  snapshot(): DatabaseWorkTotals {
    return { commands: { ...this.totals.commands }, writtenDocuments: this.totals.writtenDocuments, writtenBytes: this.totals.writtenBytes };
  }

  private started(e: mongo.CommandStartedEvent): void {
    const name = e.commandName;
    this.totals.commands[name] = (this.totals.commands[name] ?? 0) + 1;
    this.commands.inc({ command: name });
    const field = WRITE_PAYLOAD[name];
    const payload = field ? (e.command as Record<string, unknown>)[field] : undefined;
    if (payload === undefined || payload === null) return;
    const statements = Array.isArray(payload) ? payload : [payload];
    let size = 0;
    for (const s of statements) if (s && typeof s === 'object') size += driver.BSON.calculateObjectSize(s as mongo.Document);
    this.totals.writtenBytes += size;
    this.bytes.inc({ command: name }, size);
  }

  private succeeded(e: mongo.CommandSucceededEvent): void {
    if (!WRITE_PAYLOAD[e.commandName]) return;
    const reply = e.reply as { n?: unknown; lastErrorObject?: { n?: unknown } } | undefined;
    const n = Number(reply?.n ?? reply?.lastErrorObject?.n ?? 0);
    if (!Number.isFinite(n) || n <= 0) return;
    this.totals.writtenDocuments += n;
    this.documents.inc({ command: e.commandName }, n);
  }
}
