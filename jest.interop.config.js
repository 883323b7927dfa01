// The Java OpAMP client interop spec (test/interop-java.e2e-spec.ts, over a minute), kept out of
// `npm test`: run by `npm run test:interop` (and by .ci/run where java is present). The Python
// client spec is short and runs in `npm test`. Same transform and database set-up as the default config.
const { testEnvironment, transform, globalSetup, globalTeardown } = require('./jest.config.js');

module.exports = {
  rootDir: __dirname,
  testEnvironment,
  transform,
  globalSetup,
  globalTeardown,
  displayName: 'interop',
  testMatch: ['<rootDir>/test/interop-java.e2e-spec.ts'],
  // The first Maven build of the harness runs at module load (about 30 s cold).
  testTimeout: 120_000,
};
