import { unstorableReason } from './unstorable-report';

const named = (name: string, message: string, extra: object = {}) => Object.assign(new Error(message), { name }, extra);

describe('unstorableReason', () => {
  it.each([
    ['a RangeError from the BSON serializer', new RangeError('The value of "offset" is out of range'), true],
    ['a BSONError (a key with a NUL byte)', named('BSONError', 'key a\u0000b must not contain null bytes'), true],
    ['the driver refusing a document over 16 MiB', named('MongoInvalidArgumentError', 'Document is larger than the maximum size 16777216'), true],
    ['BadValue from the server (FerretDB: nested arrays)', named('MongoServerError', 'nested arrays are not supported', { code: 2 }), true],
    ['BSONObjectTooLarge inside a bulk error', named('MongoBulkWriteError', 'too large', { writeErrors: [{ code: 10334 }] }), true],
    ['a network error', named('MongoNetworkError', 'connection reset'), false],
    ['a server selection timeout', named('MongoServerSelectionError', 'timed out'), false],
    ['an unrelated error with code 2', named('SystemError', 'ENOENT', { code: 2 }), false],
    ['not an error at all', 'text', false],
  ])('%s', (_n, err, permanent) => {
    expect(unstorableReason(err) !== undefined).toBe(permanent);
  });
});
