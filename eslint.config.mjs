// ESLint flat config: eslint's recommended rules plus typescript-eslint's recommended rules, for
// every .ts/.js/.mjs/.cjs file of the repository (run by `npm run lint`, which .ci/run runs).
// Every `eslint-disable` comment must say why on the same line (`-- reason`); that is enforced below.
import { defineConfig } from "eslint/config";
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";

// `local/disable-needs-reason`: an `eslint-disable*` comment must carry `-- <reason>` on the same line.
const local = {
  rules: {
    "disable-needs-reason": {
      meta: { type: "suggestion", schema: [], messages: { missing: "eslint-disable without a reason: add ` -- <why>` on the same line." } },
      create(context) {
        return {
          Program() {
            for (const c of context.sourceCode.getAllComments()) {
              const text = c.value.trim();
              if (/^eslint-disable(-next-line|-line)?(\s|$)/.test(text) && !/\s--\s*\S/.test(text)) {
                context.report({ loc: c.loc, messageId: "missing" });
              }
            }
          },
        };
      },
    },
  },
};

export default defineConfig(
  {
    ignores: [
      "**/node_modules/**",
      "dist/**",
      "bin/**",
      "out/**",
      "bench/results/**",
      ".serverless-cache/**",
      "test/.readme-snippets/**",
      ".tmp*/**", // scratch directories of local tooling (not part of the repository)
    ],
  },
  {
    linterOptions: {
      // A disable comment that no longer suppresses anything is an error, not a warning.
      reportUnusedDisableDirectives: "error",
    },
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { ...globals.node, ...globals.mocha },
    },
    plugins: { local },
    rules: {
      "local/disable-needs-reason": "error",
      // `_`-prefixed names are the codebase's way of saying "deliberately unused" (parameters kept
      // for a signature, destructured-away fields); everything else unused is an error.
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none", ignoreRestSiblings: true },
      ],
      // Handles such as `let timer` are declared before the closures that read them on purpose (Pulumi's
      // closure serializer rejects a closure that uses a `const` declared later), then assigned once.
      "prefer-const": ["error", { ignoreReadBeforeAssign: true }],
      // The code validates protocol input (memcached keys, HTTP request lines and headers, cache keys):
      // character classes of control characters (\x00-\x1f) are exactly what it rejects, never a typo.
      "no-control-regex": "off",
    },
  },
  {
    // `require()` in tests and benchmarks is deliberate: tests load a module afresh after clearing
    // require.cache (or after changing the environment it reads at load time), and the benchmarks
    // load a mode's modules only when that mode runs (`--url` needs neither memcached nor the app).
    // Production code (functions/, components/, plan/, testing/, lib/, app/, scripts/) keeps the rule:
    // each lazy require there carries an eslint-disable with its reason.
    files: ["test/**", "bench/**"],
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    // CommonJS files (the cold-start runner is loaded by a bare `node`, without ts-node).
    files: ["**/*.cjs", "test/support/reporter.js"],
    languageOptions: { sourceType: "commonjs" },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
);
