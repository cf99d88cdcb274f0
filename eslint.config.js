// Lint rules: typescript-eslint's recommended set over the sources, tests, benches and scripts.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'dist/', 'coverage/', '.scratch/'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The graphics page is plain browser JS that no type checker sees: catch undefined names here.
    files: ['web/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(
        ['window', 'document', 'location', 'console', 'fetch', 'WebSocket', 'CSS', 'CustomEvent', 'DOMMatrixReadOnly', 'DOMParser', 'URLSearchParams',
          'performance', 'getComputedStyle', 'requestAnimationFrame', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval',
          'addEventListener', 'innerWidth', 'innerHeight'].map((g) => [g, 'readonly']),
      ),
    },
    rules: { 'no-undef': 'error' },
  },
);
