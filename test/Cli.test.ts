import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { loadSimulatorConfig } from "../src/Cli.js"

const file = (name: string, content: string) => {
  const path = join(mkdtempSync(join(tmpdir(), "ear-cli-")), name)
  writeFileSync(path, content)
  return path
}

describe("simulate --config", () => {
  it.effect("a valid file decodes with defaults filled in", () =>
    Effect.gen(function*() {
      const config = yield* loadSimulatorConfig(file("ok.json", JSON.stringify({
        seed: 3,
        models: [{ id: "gpt-4.1-mini", vendor: "openai", kind: "text" }]
      })))
      expect(config.seed).toBe(3)
      expect(config.models[0]?.id).toBe("gpt-4.1-mini")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("a bad field is an InputError that names the field", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(loadSimulatorConfig(file("bad.json", JSON.stringify({
        timeScale: -5,
        models: [{ id: "x", vendor: "v", kind: "hologram" }]
      }))))
      expect(error._tag).toBe("InputError")
      expect(error.message).toContain("bad.json")
      expect(error.message).toContain("timeScale: Expected a positive number, actual -5")
      expect(error.message).toContain(`models[0].kind: Expected "text" | "image" | "video", actual "hologram"`)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("a file that is not JSON is an InputError, not a crash", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(loadSimulatorConfig(file("html.json", "<html>oops</html>")))
      expect(error._tag).toBe("InputError")
      expect(error.message).toMatch(/not valid JSON/)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("a missing file is an InputError", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(loadSimulatorConfig("/nonexistent/sim.json"))
      expect(error._tag).toBe("InputError")
      expect(error.message).toContain("/nonexistent/sim.json")
    }).pipe(Effect.provide(NodeContext.layer)))
})
