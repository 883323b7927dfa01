import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import prettier from 'eslint-config-prettier';
import { importX, createNodeResolver } from 'eslint-plugin-import-x';
import { layeringZones } from './eslint.layering.mjs';

const modelOwnership = [
  {
    selector: "Decorator > CallExpression[callee.name='InjectModel']",
    message: "Only a repository (*.repository.ts) injects a Mongoose model; ask the owning module's repository instead.",
  },
  {
    selector: "CallExpression[callee.name='getModelToken']",
    message: "Only a repository (*.repository.ts) reaches a Mongoose model; ask the owning module's repository instead.",
  },
];
const injectConnection = {
  selector: "Decorator > CallExpression[callee.name='InjectConnection']",
  message: "Only a repository or the database infrastructure reads collections by name; ask the owning module's repository instead.",
};

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.cache/', 'src/gen/', 'coverage/', 'helm/', 'test/interop/**/*.go'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        require: 'readonly',
        module: 'writable',
        process: 'readonly',
        __dirname: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/no-explicit-any': 'warn',
    },
  },
  // The server's layers (eslint.layering.mjs says which and why): an import against them fails the lint.
  {
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.json'] })] },
    rules: { 'import-x/no-restricted-paths': ['error', { basePath: import.meta.dirname, zones: layeringZones }] },
  },
  // One mechanism each for the server's plumbing: background work on PeriodicTask (start, one run
  // at a time, stop that waits for a run in progress before the database closes), in-process events
  // on TypedEventBus (typed, listener failures isolated). Hand-made timers and emitters bypass both.
  {
    files: ['src/**/*.ts'],
    ignores: ['src/common/periodic-task.ts', 'src/**/*.spec.ts'],
    rules: {
      'no-restricted-globals': ['error', { name: 'setInterval', message: 'Schedule background work with PeriodicTask (src/common/periodic-task.ts).' }],
      'no-restricted-imports': [
        'error',
        {
          paths: ['node:events', 'events'].map((name) => ({
            name,
            importNames: ['EventEmitter'],
            message: 'Publish in-process events on a TypedEventBus (src/common/typed-event-bus.ts).',
          })),
        },
      ],
    },
  },
  // One owner per collection: a Mongoose model is injected only into its repository
  // (src/**/*.repository.ts), which the owning module provides; everything else asks the
  // repository (src/model-ownership.spec.ts checks that each model is registered once, beside it).
  // The raw connection (collections by name) is for the database infrastructure and the
  // readiness check only.
  {
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.repository.ts', 'src/**/*.spec.ts', 'src/database/**', 'src/health/**'],
    rules: { 'no-restricted-syntax': ['error', ...modelOwnership, injectConnection] },
  },
  {
    files: ['src/database/**/*.ts', 'src/health/**/*.ts'],
    ignores: ['src/**/*.repository.ts', 'src/**/*.spec.ts'],
    rules: { 'no-restricted-syntax': ['error', ...modelOwnership] },
  },
  // The web UI: browser code, React's rules of hooks.
  {
    files: ['web/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    rules: { 'react-hooks/rules-of-hooks': 'error', 'react-hooks/exhaustive-deps': 'warn' },
  },
  // Layout is Prettier's (npm run lint checks it, npm run format applies it): no lint rule about it.
  prettier,
);
