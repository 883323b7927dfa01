import mongoose, { Connection, Model } from 'mongoose';
import { isDatabaseUnavailable } from '../../common/database-errors';
import { loadConfig } from '../../config/app-config';
import { EnrollmentToken, EnrollmentTokenSchema } from './enrollment-token.schema';
import { MongooseEnrollmentTokensRepository } from './enrollment-tokens.repository';
import { EnrollmentTokensService } from './enrollment-tokens.service';
import { CuttableLink } from '../../../test/support/cuttable-link';
import { ChangeFeed } from '../../cluster/change-feed';
import { DesiredStateBridge } from '../../cluster/desired-state-bridge';
import { InProcessEventBus } from '../../cluster/event-bus';
import { DesiredStateEvents } from '../../common/desired-state-events';

describe('EnrollmentTokensService while the database is unreachable', () => {
  let link: CuttableLink;
  let conn: Connection;
  let service: EnrollmentTokensService;
  let now = Date.now();

  beforeAll(async () => {
    const base = new URL(process.env.TEST_MONGODB_URI!);
    link = new CuttableLink({ host: base.hostname, port: Number(base.port) });
    await link.up();
    conn = await mongoose
      .createConnection(`mongodb://127.0.0.1:${link.port}/u_enrollment_tokens`, { serverSelectionTimeoutMS: 300, timeoutMS: 1000, bufferCommands: false })
      .asPromise();
    const model: Model<EnrollmentToken> = conn.model(EnrollmentToken.name, EnrollmentTokenSchema);
    const config = loadConfig({ AGENT_TOKEN_CACHE_SECONDS: '300' }, []);
    const events = new DesiredStateEvents();
    const bus = new InProcessEventBus();
    service = new EnrollmentTokensService(
      new MongooseEnrollmentTokensRepository(model),
      config,
      new ChangeFeed(bus, events, new DesiredStateBridge(events, bus), config),
    );
    jest.spyOn(Date, 'now').mockImplementation(() => now);
  });

  afterAll(async () => {
    jest.restoreAllMocks();
    await conn.close(true);
    await link.down();
  });

  it('admits a recently verified token during an outage, refuses to judge the others, and forgets a revoked one', async () => {
    const known = await service.create({ labels: { env: 'prod' } }, 'admin');
    const revoked = await service.create({}, 'admin');
    const unknown = await service.create({}, 'admin');
    expect(await service.check(known.token)).toMatchObject({ ok: true, labels: { env: 'prod' } });
    expect(await service.check(revoked.token)).toMatchObject({ ok: true });
    await service.revoke(revoked.doc._id);

    await link.down();
    now += 60_000; // past the fresh window: the database would be asked, and cannot be

    expect(await service.check(known.token)).toMatchObject({ ok: true, id: known.doc._id, labels: { env: 'prod' } });
    for (const token of [revoked.token, unknown.token]) {
      const err = await service.check(token).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isDatabaseUnavailable(err)).toBe(true);
    }
    // A malformed credential needs no database to be refused.
    expect(await service.check('oce_nope')).toMatchObject({ ok: false });

    now += 300_000; // older than AGENT_TOKEN_CACHE_SECONDS: no longer admitted on trust
    const late = await service.check(known.token).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isDatabaseUnavailable(late)).toBe(true);

    await link.up();
    // The driver finds the server again on its own schedule (slower on a loaded machine): wait until it is reachable.
    for (let i = 0; i < 50; i++) {
      const e = await service.check(unknown.token).then(
        () => undefined,
        (err: unknown) => err,
      );
      if (!isDatabaseUnavailable(e)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await expect(service.check(revoked.token)).resolves.toMatchObject({ ok: false, message: expect.stringMatching(/revoked/) });
    await expect(service.check(known.token)).resolves.toMatchObject({ ok: true });
  });
});
