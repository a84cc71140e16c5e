import { defineConfig, mergeConfig } from 'vitest/config'

import viteConfig from './vite.config.ts'

// Unit tests of the console's logic (composables, utils): `npm run test:unit`. They sit next to
// the code as `*.spec.ts`, so vue-tsc checks them with the rest of src/.
export default mergeConfig(
  viteConfig,
  defineConfig({
    test: {
      environment: 'jsdom',
      include: ['src/**/*.spec.ts'],
    },
  }),
)
