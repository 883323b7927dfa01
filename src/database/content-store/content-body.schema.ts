import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { Schema as MongooseSchema } from 'mongoose';

/**
 * A large body stored once by its content: `_id` is `<kind>:<sha256 hex of its canonical bytes>`
 * (see content-id.ts), so every document that holds the same body refers to one copy. Written
 * once (insert only), never changed but for `touchedAt`; removed by the content GC when nothing
 * refers to it and it was last touched longer ago than CONTENT_GC_GRACE_SECONDS.
 */
@Schema({ collection: 'content_bodies', versionKey: false, minimize: false })
export class ContentBody {
  @Prop({ type: String, required: true })
  _id: string;

  /** The kind prefix of `_id` (`effective-config`, `health`, `remote-config`), for stats. */
  @Prop({ type: String, required: true })
  kind: string;

  /** The body in its owner's stored form (config files with Binary bodies, a health tree, a config's text). */
  @Prop({ type: MongooseSchema.Types.Mixed, required: true })
  body: unknown;

  /** Bytes of the canonical form the id was computed from. */
  @Prop({ type: Number, required: true })
  size: number;

  @Prop({ type: Date, required: true })
  createdAt: Date;

  /**
   * When a writer last made sure the body exists (its insert, or a refresh of an old one about
   * to be referenced again). The GC sweeps only bodies not touched within the grace period, so a
   * body written or refreshed for a reference not yet stored is never swept under it.
   */
  @Prop({ type: Date, required: true })
  touchedAt: Date;
}
export const ContentBodySchema = SchemaFactory.createForClass(ContentBody);
