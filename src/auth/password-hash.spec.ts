import { decoyPasswordHash, hashPassword, verifyPassword } from './password-hash';
import { passwordProblem } from '../common/password-policy';
import { safeEqual } from './secret-compare';

describe('password hashing', () => {
  it('verifies the right password only, with a fresh salt every time', async () => {
    const a = await hashPassword('correct horse battery');
    const b = await hashPassword('correct horse battery');
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('correct horse battery', a)).toBe(true);
    expect(await verifyPassword('correct horse batterx', a)).toBe(false);
    expect(await verifyPassword('correct horse battery', 'plain-text')).toBe(false);
    expect(await verifyPassword('x', 'scrypt$99999999$8$1$AAAA$AAAA')).toBe(false);
    expect(await verifyPassword('x', await decoyPasswordHash())).toBe(false);
  });
});

describe('passwordProblem', () => {
  it.each([
    ['short', 'must be at least 12'],
    ['changemeplease', 'well-known'],
    ['aaaaaaaaaaaaaaaa', 'well-known'],
    ['Admin123456789!', 'user name'],
  ])('refuses %s', (pw, why) => expect(passwordProblem(pw, 'admin')).toContain(why));

  it('accepts a long, unusual password', () => expect(passwordProblem('tall-otter-47-ridge', 'admin')).toBeUndefined());
});

describe('safeEqual', () => {
  it('compares whole values of any length', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
    expect(safeEqual('', '')).toBe(true);
  });
});
