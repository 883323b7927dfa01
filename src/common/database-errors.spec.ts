import { ServiceUnavailableException } from '@nestjs/common';
import mongoose from 'mongoose';
import { NotFoundError } from './domain-errors';
import { DatabaseUnavailableError, isDatabaseUnavailable } from './database-errors';
import { problemHeaders, toProblem } from './problem-details.filter';

const { mongo } = mongoose;

describe('database errors', () => {
  it('recognises what the driver raises when the database is unreachable or too slow', () => {
    const unavailable = [
      new mongo.MongoNetworkError('connection reset'),
      new mongo.MongoNetworkTimeoutError('timed out'),
      new mongo.MongoOperationTimeoutError('Timed out during socket read (3000ms)'),
      new mongo.MongoNotConnectedError('not connected'),
      new mongo.MongoTopologyClosedError(),
      new mongo.MongoServerError({ code: 50, errmsg: 'operation exceeded time limit' }),
      new mongo.MongoServerError({ code: 91, errmsg: 'shutdown in progress' }),
      new mongoose.Error('Operation `agents.find()` buffering timed out after 5000ms'),
      new DatabaseUnavailableError(),
      Object.assign(new Error('wrapped'), { cause: new mongo.MongoNetworkError('reset') }),
    ];
    for (const err of unavailable) expect([err.name, isDatabaseUnavailable(err)]).toEqual([err.name, true]);
  });

  it('leaves other errors alone: duplicates, validation, bugs', () => {
    const others = [
      new mongo.MongoServerError({ code: 11000, errmsg: 'E11000 duplicate key' }),
      new mongo.MongoServerError({ code: 1, errmsg: 'internal' }),
      new mongo.MongoInvalidArgumentError('bad option'),
      new mongoose.Error.ValidationError(),
      new mongoose.Error('something else'),
      new TypeError('undefined is not a function'),
      new NotFoundError('no such agent'),
      'a string',
      undefined,
    ];
    for (const err of others) expect(isDatabaseUnavailable(err)).toBe(false);
  });

  it('a real unreachable server gives an error that maps to 503 + Retry-After problem+json', async () => {
    const conn = mongoose.createConnection('mongodb://127.0.0.1:1/nothing', { serverSelectionTimeoutMS: 200, bufferCommands: false });
    const err = await conn.asPromise().then(
      () => undefined,
      (e: unknown) => e,
    );
    await conn.close().catch(() => undefined);
    expect(isDatabaseUnavailable(err)).toBe(true);
    const problem = toProblem(err, '/api/v1/agents');
    expect(problem).toMatchObject({ status: 503, type: 'urn:opamp-commander:problem:database-unavailable', instance: '/api/v1/agents' });
    expect(problemHeaders(err, 7)).toEqual({ 'retry-after': '7' });
  });

  it('an HTTP exception keeps its own status even when it is a 503', () => {
    const err = new ServiceUnavailableException('draining');
    expect(toProblem(err).status).toBe(503);
    expect(problemHeaders(err)).toEqual({});
  });
});
