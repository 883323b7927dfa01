// The browser suite (npm run test:browser): the built web UI served by the real server,
// driven by Debian's Chromium through playwright-core (scripts/install-chromium.sh installs it).
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.jest.json' }] },
  rootDir: __dirname,
  testMatch: ['<rootDir>/test/browser/**/*.browser-spec.ts'],
  modulePathIgnorePatterns: ['<rootDir>/web/', '<rootDir>/dist/'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 120000,
};
