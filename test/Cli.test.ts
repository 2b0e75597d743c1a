import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Cause, ConfigProvider, Console, Effect, Exit, Layer, Option } from "effect"
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { cli, InputError, loadSimulatorConfig, resolveSimulatorConfig, type SimulateFlags } from "../src/Cli.js"
import * as Simulator from "../src/Simulator.js"
import { settle } from "./support/clock.js"
import { HttpLive, KEY, startSimulator } from "./support/simulator.js"

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

const flags = (overrides: Partial<SimulateFlags> = {}): SimulateFlags => ({
  config: Option.none(),
  port: Option.none(),
  timeScale: Option.none(),
  seed: Option.none(),
  ...overrides
})

describe("simulate flags", () => {
  it.effect("no flags: the built-in scenario", () =>
    Effect.gen(function*() {
      const config = yield* resolveSimulatorConfig(flags())
      expect(config).toEqual(Simulator.defaultScenario)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("flags override the built-in scenario", () =>
    Effect.gen(function*() {
      const config = yield* resolveSimulatorConfig(flags({ port: Option.some(8787), timeScale: Option.some(60), seed: Option.some(9) }))
      expect(config).toBeInstanceOf(Simulator.SimulatorConfig)
      expect({ port: config.port, timeScale: config.timeScale, seed: config.seed }).toEqual({ port: 8787, timeScale: 60, seed: 9 })
      expect(config.models).toEqual(Simulator.defaultScenario.models)
      expect(config.startAt).toBe(Simulator.defaultScenario.startAt)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("flags override a config file", () =>
    Effect.gen(function*() {
      const path = file("sim.json", JSON.stringify({ seed: 3, timeScale: 10, apiKeys: ["k1"], models: [{ id: "m", vendor: "v", kind: "text" }] }))
      const config = yield* resolveSimulatorConfig(flags({ config: Option.some(path), seed: Option.some(4) }))
      expect(config.seed).toBe(4)
      expect(config.timeScale).toBe(10)
      expect(config.apiKeys).toEqual(["k1"])
      expect(config.models.map((m) => m.id)).toEqual(["m"])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("--port 99999 is an InputError naming the field, not a crash", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(resolveSimulatorConfig(flags({ port: Option.some(99999) })))
      expect(error).toBeInstanceOf(InputError)
      expect(error.message).toContain("--port")
      expect(error.message).toMatch(/^ {2}port: Expected .*between 0 and 65535.*, actual 99999$/m)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("--time-scale 0 and a negative --time-scale are InputErrors naming the field", () =>
    Effect.gen(function*() {
      for (const value of [0, -2]) {
        const error = yield* Effect.flip(resolveSimulatorConfig(flags({ timeScale: Option.some(value) })))
        expect(error._tag).toBe("InputError")
        expect(error.message).toContain(`timeScale: Expected a positive number, actual ${value}`)
      }
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("a bad flag over a config file names the field; a bad file names the file", () =>
    Effect.gen(function*() {
      const good = file("good.json", JSON.stringify({ models: [{ id: "m", vendor: "v", kind: "text" }] }))
      const error = yield* Effect.flip(resolveSimulatorConfig(flags({ config: Option.some(good), port: Option.some(-1) })))
      expect(error.message).toMatch(/^ {2}port: Expected .*, actual -1$/m)
      const bad = file("bad.json", JSON.stringify({ port: 70000 }))
      const fileError = yield* Effect.flip(resolveSimulatorConfig(flags({ config: Option.some(bad), seed: Option.some(2) })))
      expect(fileError.message).toContain("bad.json")
      expect(fileError.message).toMatch(/^ {2}port: Expected .*, actual 70000$/m)
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("the CLI in-process", () => {
  const run = (...args: ReadonlyArray<string>) => cli(["node", "effect-ai-resilience", ...args]).pipe(Effect.provide(NodeContext.layer))

  it.effect("simulate --port 99999 fails with a typed InputError naming the field (no server starts)", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(run("simulate", "--port", "99999"))
      expect(error._tag).toBe("InputError")
      expect(error instanceof InputError && error.message).toMatch(/port: Expected .*, actual 99999/)
    }))

  it.effect("simulate --time-scale 0 fails with a typed InputError naming the field", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(run("simulate", "--time-scale", "0"))
      expect(error._tag).toBe("InputError")
      expect(error instanceof InputError && error.message).toContain("timeScale: Expected a positive number, actual 0")
    }))

  it.effect("simulate --config with a bad file fails with a typed InputError naming the file and field", () =>
    Effect.gen(function*() {
      const path = file("cli-bad.json", JSON.stringify({ models: [{ id: "m", vendor: "v", kind: "hologram" }] }))
      const error = yield* Effect.flip(run("simulate", "--config", path))
      expect(error._tag).toBe("InputError")
      expect(error instanceof InputError && error.message).toContain("cli-bad.json")
      expect(error instanceof InputError && error.message).toContain("models[0].kind")
    }))

  /** Run the CLI with a console that keeps what it prints. */
  const captured = (...args: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const console = yield* Console.consoleWith(Effect.succeed)
      const keep: Console.Console = { ...console, log: (...parts: ReadonlyArray<unknown>) => Effect.sync(() => { lines.push(parts.map(String).join(" ")) }) }
      const exit = yield* Effect.exit(run(...args).pipe(Effect.withConsole(keep)))
      return { exit, output: lines.join("\n") }
    })

  it.effect("demo --requests 0 is an InputError naming the flag; nothing runs", () =>
    Effect.gen(function*() {
      const { exit, output } = yield* captured("demo", "--requests", "0")
      expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toMatchObject({ _tag: "InputError", message: expect.stringContaining("--requests") })
      expect(output).toBe("")
    }))

  it.live("demo --json prints the report; a batch too short to see the primary come back fails its check (exit 1)", () =>
    Effect.gen(function*() {
      const { exit, output } = yield* captured("demo", "--json", "--requests", "60")
      const report = JSON.parse(output)
      expect(report.requests).toBe(60)
      expect(report.checks.map((c: { name: string; ok: boolean }) => [c.name, c.ok])).toEqual([
        ["nothing lost to the outage", true],
        ["failover while the primary is down", true],
        ["the primary's breaker opens", true],
        ["traffic returns to the primary", false] // 60 arrivals 25 s apart end inside the outage
      ])
      expect(report.outcomes).toHaveLength(60)
      expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toMatchObject({ _tag: "CheckFailed" })
    }))

  it.scoped("text --config: fails over along the file's list over real HTTP and reports every attempt as JSON", () =>
    Effect.gen(function*() {
      const { sim } = yield* startSimulator()
      yield* sim.setOverride("gemini-2.5-flash", "overloaded")
      const config = file("models.json", JSON.stringify({
        text: [
          { model: "gemini-2.5-flash", provider: "gemini", baseUrl: sim.url, apiKeyEnv: "SIM_KEY", price: 0.001 },
          { model: "gpt-4.1-mini", provider: "openai-compatible", baseUrl: `${sim.url}/v1`, apiKeyEnv: "SIM_KEY", price: 0.002 }
        ],
        retry: { maxAttempts: 2, base: "10 millis" }
      }))
      const { exit, output } = yield* settle(
        captured("text", "--config", config, "--prompt", "Hello [sim:ok]", "--json").pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["SIM_KEY", KEY]])))
        ),
        "10 millis"
      )
      expect(Exit.isSuccess(exit)).toBe(true)
      const report = JSON.parse(output)
      expect([report.requests, report.served, report.fellBack, report.cost]).toEqual([1, 1, 1, 0.002])
      expect(report.items[0].attempts.map((a: { model: string; outcome: string; reason?: string; status?: number }) => [a.model, a.outcome, a.reason, a.status])).toEqual([
        ["gemini-2.5-flash", "failure", "Overloaded", 503],
        ["gemini-2.5-flash", "failure", "Overloaded", 503],
        ["gpt-4.1-mini", "success", undefined, undefined]
      ])
      expect(output).not.toContain(KEY)
    }).pipe(Effect.provide(Layer.merge(HttpLive, NodeContext.layer))))

  it.effect("text --config with a key variable that is not set: InputError naming the field, nothing sent", () =>
    Effect.gen(function*() {
      const config = file("models.json", JSON.stringify({
        text: [{ model: "gpt-4.1-mini", provider: "openai-compatible", baseUrl: "http://127.0.0.1:9/v1", apiKeyEnv: "NO_SUCH_KEY_VAR" }]
      }))
      const { exit } = yield* captured("text", "--config", config, "--prompt", "hi").pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
      )
      expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toMatchObject({
        _tag: "InputError",
        message: expect.stringContaining("text[0].apiKeyEnv: environment variable NO_SUCH_KEY_VAR is not set")
      })
    }))

  it.scoped("image --config --images 2 --out DIR: split for a one-image model, URL outputs downloaded and saved, cost per image", () =>
    Effect.gen(function*() {
      const { sim } = yield* startSimulator()
      const out = mkdtempSync(join(tmpdir(), "ear-images-"))
      const config = file("models.json", JSON.stringify({
        image: [{
          model: "flux-2-pro", provider: "openai-compatible", baseUrl: `${sim.url}/v1`, apiKeyEnv: "SIM_KEY", price: 0.03,
          capabilities: { maxImagesPerCall: 1, defaultOutput: "url" }
        }]
      }))
      const { exit, output } = yield* settle(
        captured("image", "--config", config, "--prompt", "A kite [sim:ok]", "--images", "2", "--out", out, "--json").pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["SIM_KEY", KEY]])))
        ),
        "10 millis"
      )
      expect(Exit.isSuccess(exit) ? "ok" : Cause.pretty(exit.cause)).toBe("ok")
      const report = JSON.parse(output)
      expect([report.served, report.cost]).toEqual([1, 0.06])
      expect((yield* sim.snapshot).models.find((m) => m.id === "flux-2-pro")!.requests).toBe(2) // n=2 split into two calls
      const saved = readdirSync(out).sort()
      expect(saved).toEqual(["request-1-1.png", "request-1-2.png"])
      expect(readFileSync(join(out, saved[0]!)).subarray(1, 4).toString()).toBe("PNG")
    }).pipe(Effect.provide(Layer.merge(HttpLive, NodeContext.layer))))

  it.scoped("video --config --json: submitted, polled, downloaded; the report says which model served", () =>
    Effect.gen(function*() {
      const { sim } = yield* startSimulator()
      const config = file("models.json", JSON.stringify({
        video: [{ model: "gen4_turbo", provider: "openai-compatible", baseUrl: `${sim.url}/v1`, apiKeyEnv: "SIM_KEY", price: 0.25 }]
      }))
      const { exit, output } = yield* settle(
        captured("video", "--config", config, "--prompt", "A kite [sim:ok]", "--json").pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["SIM_KEY", KEY]])))
        ),
        "1 second",
        2_000
      )
      expect(Exit.isSuccess(exit) ? "ok" : Cause.pretty(exit.cause)).toBe("ok")
      const report = JSON.parse(output)
      expect([report.ok, report.model, report.cost, report.task.status, report.video.mimeType]).toEqual([true, "gen4_turbo", 0.25, "succeeded", "video/mp4"])
    }).pipe(Effect.provide(Layer.merge(HttpLive, NodeContext.layer))))

  it.effect("status --config with a bad file: InputError naming the field; no server, no probe", () =>
    Effect.gen(function*() {
      const config = file("models.json", JSON.stringify({ image: [{ model: "flux-2-pro", provider: "openai-compatible", apiKeyEnv: "SIM_KEY" }] }))
      const { exit, output } = yield* captured("status", "--config", config, "--port", "0")
      expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toMatchObject({
        _tag: "InputError",
        message: expect.stringContaining(`image[0].baseUrl: is required for provider "openai-compatible"`)
      })
      expect(output).toBe("")
    }))
})
