import { SignedStateStore, StateRequest, STATE_COOKIE } from './signed-state-store';

function issue(store: SignedStateStore): { state: string; nonce: string } {
  const req: StateRequest = { headers: {} };
  let state = '';
  store.store(req, {}, (_e, s) => (state = s!));
  return { state, nonce: req.oauthStateNonce! };
}

describe('SignedStateStore', () => {
  const key = Buffer.from('k'.repeat(32));

  it('accepts its own state with the matching cookie, once signed, until it expires', () => {
    let now = 1_000;
    const store = new SignedStateStore(key, () => now);
    const { state, nonce } = issue(store);
    expect(store.problem(state, nonce)).toBeUndefined();
    let verified: boolean | undefined;
    store.verify({ headers: { cookie: `a=b; ${STATE_COOKIE}=${nonce}` } }, state, {}, (_e, ok) => (verified = ok));
    expect(verified).toBe(true);
    now += 11 * 60_000;
    expect(store.problem(state, nonce)).toMatch(/expired/);
  });

  it('refuses forged, altered, foreign-key and cookie-less states', () => {
    const store = new SignedStateStore(key);
    const { state, nonce } = issue(store);
    const [payload, mac] = state.split('.');
    const altered = Buffer.from(JSON.stringify({ n: nonce, e: Date.now() + 10 ** 9 })).toString('base64url');
    expect(store.problem(`${altered}.${mac}`, nonce)).toMatch(/not one this server issued/);
    expect(store.problem(`${payload}.${mac}x`, nonce)).toMatch(/not one this server issued/);
    expect(store.problem('forged', nonce)).toMatch(/not one this server issued/);
    expect(store.problem(undefined, nonce)).toMatch(/missing/);
    expect(new SignedStateStore(Buffer.from('other-key'.repeat(4))).problem(state, nonce)).toMatch(/not one this server issued/);
    expect(store.problem(state, undefined)).toMatch(/browser/);
    expect(store.problem(state, 'someone-else')).toMatch(/browser/);
  });
});
