// The Collector interop suite (test/**/*.collector-spec.ts): a real OpenTelemetry Collector under the
// OpAMP supervisor, both built from the Go module proxy by test/interop/collector/build.sh.
// Run by `npm run test:collector` (and by .ci/run where Go is present), never by `npm test`.
// Same transform and the same database set-up (one FerretDB for the run) as the default config.
const { testEnvironment, transform, globalSetup, globalTeardown } = require('./jest.config.js');

module.exports = {
  rootDir: __dirname,
  testEnvironment,
  transform,
  globalSetup,
  globalTeardown,
  displayName: 'collector',
  testMatch: ['<rootDir>/test/**/*.collector-spec.ts'],
  // A cold build of the Collector and the supervisor runs inside beforeAll (many minutes on 2 cores).
  testTimeout: 180_000,
};
