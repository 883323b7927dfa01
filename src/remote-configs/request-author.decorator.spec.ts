import { authorOf } from './request-author.decorator';

describe('authorOf', () => {
  it('is anonymous until authentication puts a user on the request', () => {
    expect(authorOf({})).toBe('anonymous');
    expect(authorOf(undefined)).toBe('anonymous');
    expect(authorOf({ user: { sub: '' } })).toBe('anonymous');
  });

  it('takes the first of username, name, email, sub', () => {
    expect(authorOf({ user: { username: 'ada', email: 'ada@example.com' } })).toBe('ada');
    expect(authorOf({ user: { email: 'ada@example.com', sub: '42' } })).toBe('ada@example.com');
    expect(authorOf({ user: { sub: 'github|42' } })).toBe('github|42');
  });
});
