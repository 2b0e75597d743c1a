import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const src = (file: string) => fileURLToPath(new URL(`./src/${file}`, import.meta.url))

export default defineConfig({
  resolve: {
    // The examples import the package by its name, as an app does; here the
    // names resolve to the sources (tsconfig.json has the same paths).
    alias: [
      { find: /^effect-ai-resilience$/, replacement: src("index.ts") },
      { find: /^effect-ai-resilience\/simulator$/, replacement: src("Simulator.ts") },
      { find: /^effect-ai-resilience\/testing$/, replacement: src("Testing.ts") },
      { find: /^effect-ai-resilience\/config$/, replacement: src("ClientConfig.ts") }
    ]
  },
  test: {
    include: ["test/**/*.test.ts", "examples/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
