// Two tiers (CONVENTIONS.md): unit specs beside the code, e2e specs in test/ that boot the
// real application against a real MongoDB wire server started once by the global setup.
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.jest.json' }];
// content-disposition (under @fastify/static, which serves the OpenAPI UI) ships only ES
// modules; Node 20 can require() them but Jest's module loader cannot, so Jest transforms it.
const common = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': tsJest, '/node_modules/content-disposition/.+\\.js$': tsJest },
  transformIgnorePatterns: ['/node_modules/(?!content-disposition/)'],
};
module.exports = {
  ...common,
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 60000,
  projects: [
    { ...common, displayName: 'unit', rootDir: __dirname, testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    { ...common, displayName: 'e2e', rootDir: __dirname, testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'] },
  ],
};
