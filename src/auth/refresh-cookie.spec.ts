import { REFRESH_COOKIE, refreshCookie, refreshTokenOf } from './refresh-cookie';

describe('refresh cookie', () => {
  it('is HttpOnly, SameSite=Strict, limited to the session routes, and Secure only under TLS', () => {
    const plain = refreshCookie('ocr_abc.def', 600, false);
    expect(plain).toBe(`${REFRESH_COOKIE}=ocr_abc.def; Path=/api/v1/auth/session; Max-Age=600; HttpOnly; SameSite=Strict`);
    expect(refreshCookie('x', 600, true)).toMatch(/; Secure$/);
  });

  it('is found among other cookies, and an empty one counts as none', () => {
    expect(refreshTokenOf(`a=1; ${REFRESH_COOKIE}=ocr_x.y; b=2`)).toBe('ocr_x.y');
    expect(refreshTokenOf(`${REFRESH_COOKIE}=`)).toBeUndefined();
    expect(refreshTokenOf('other=1')).toBeUndefined();
    expect(refreshTokenOf(undefined)).toBeUndefined();
  });
});
