import { defineConfig } from 'vitest/config';

// Every test lives under tests/, mirroring the folder it tests (tests/stages/validate/ for
// stages/validate/): product folders hold product code only, which is what the image ships.
// Two projects: `unit` needs nothing running; `integration` talks to the real local stack
// (`eaio services up`) and runs files one at a time because they share one broker and database.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/**/*.test.ts'],
          exclude: ['node_modules/**', '.local/**', 'tests/integration/**', 'tests/smoke/**'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['tests/smoke/**/*.test.ts', 'tests/integration/**/*.test.ts'],
          testTimeout: 120_000,
          setupFiles: ['tests/setup-warnings.ts'],
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
