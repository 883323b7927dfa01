// Two tiers (CONVENTIONS.md): unit specs beside the code, e2e specs in test/ that boot the
// real application against a real MongoDB wire server started once by the global setup.
const common = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.jest.json' }] },
  // The web UI (its own build and types) and the browser suite (npm run test:browser) are not this run's.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/web/', '<rootDir>/test/browser/'],
  modulePathIgnorePatterns: ['<rootDir>/web/', '<rootDir>/dist/'],
};
module.exports = {
  ...common,
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 60000,
  projects: [
    { ...common, displayName: 'unit', rootDir: __dirname, testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/bench/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'e2e',
      rootDir: __dirname,
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      // The Java client interop spec takes over a minute: `npm run test:interop` (jest.interop.config.js) runs it.
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/interop-java\\.e2e-spec\\.ts$'],
    },
  ],
};
