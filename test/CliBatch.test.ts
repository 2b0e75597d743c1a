import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Simulator from "../src/Simulator.js"
import { settle } from "./support/clock.js"
import { runCli, runProgram, tempFile, terminalControls } from "./support/cliRun.js"
import { untilIo } from "./support/serverWatch.js"
import { HttpLive, KEY, serveJson } from "./support/simulator.js"

const PRICE = 0.05

/** One image model that answers in exactly `latencyMs` (simulated = real at time scale 1), and one text model. */
const slowSimulator = (latencyMs: number) =>
  Simulator.make(Simulator.makeConfig({
    seed: 7,
    timeScale: 1,
    apiKeys: [KEY],
    models: [
      { id: "gpt-image-1.5", vendor: "openai", kind: "image", latency: { medianMs: latencyMs, p95Ms: latencyMs }, capabilities: { defaultImageOutput: "b64_json", maxImages: 4 } },
      { id: "gpt-4.1-mini", vendor: "openai", kind: "text", latency: { medianMs: latencyMs, p95Ms: latencyMs } },
      { id: "sora-2", vendor: "openai", kind: "video", videoDialect: "openai", latency: { medianMs: 0, p95Ms: 0 }, video: { queueSeconds: 1, renderSeconds: 1 } }
    ]
  }))

const imageConfig = (sim: { readonly url: string }) =>
  tempFile("models.json", JSON.stringify({
    image: [{ model: "gpt-image-1.5", provider: "openai-compatible", baseUrl: `${sim.url}/v1`, apiKeyEnv: "SIM_KEY", price: PRICE }]
  }))

const billedCalls = (sim: Simulator.SimulatorShape, model: string) =>
  Effect.map(sim.snapshot, (s) => s.models.find((m) => m.id === model)!.outcomes.ok)

const Live = Layer.merge(HttpLive, NodeContext.layer)

describe("a batch is N generations, and the report bills what the provider billed", () => {
  it.scoped("image --count 20 --concurrency 10 with one prompt: the provider gets 20 calls and the cost is 20 × the price", () =>
    Effect.gen(function*() {
      const sim = yield* slowSimulator(2_000)
      const out = mkdtempSync(join(tmpdir(), "ear-batch-"))
      const run = yield* settle(
        runCli(["image", "--config", imageConfig(sim), "--prompt", "A kite [sim:ok]", "--count", "20", "--concurrency", "10", "--out", out, "--json"]),
        "100 millis"
      )
      expect(run.code).toBe(0)
      const report = JSON.parse(run.stdout)
      const billed = yield* billedCalls(sim, "gpt-image-1.5")
      expect(billed).toBe(20)
      expect([report.requests, report.served, report.failed]).toEqual([20, 20, 0])
      expect(report.cost).toBeCloseTo(billed * PRICE, 9)
      expect(report.items.map((i: { cost: number }) => i.cost)).toEqual(Array.from({ length: 20 }, () => PRICE))
      expect(readdirSync(out)).toHaveLength(20)
    }).pipe(Effect.provide(Live)))

  it.scoped("text --count 6 --concurrency 3 with one prompt: 6 calls, the cost is the billed calls × the price", () =>
    Effect.gen(function*() {
      const sim = yield* slowSimulator(1_000)
      const config = tempFile("models.json", JSON.stringify({
        text: [{ model: "gpt-4.1-mini", provider: "openai-compatible", baseUrl: `${sim.url}/v1`, apiKeyEnv: "SIM_KEY", price: 0.002 }]
      }))
      const run = yield* settle(runCli(["text", "--config", config, "--prompt", "Hi [sim:ok]", "--count", "6", "--concurrency", "3", "--json"]), "100 millis")
      expect(run.code).toBe(0)
      const billed = yield* billedCalls(sim, "gpt-4.1-mini")
      expect(billed).toBe(6)
      expect(JSON.parse(run.stdout).cost).toBeCloseTo(billed * 0.002, 9)
    }).pipe(Effect.provide(Live)))
})

describe("image --out", () => {
  it.scoped("a save that fails after generation keeps the served result, its cost and attempts, and the image in a temporary file", () =>
    Effect.gen(function*() {
      const sim = yield* slowSimulator(0)
      const out = mkdtempSync(join(tmpdir(), "ear-unsaved-"))
      mkdirSync(join(out, "request-1-1.png")) // the file to be written is taken by a directory
      const run = yield* settle(runCli(["image", "--config", imageConfig(sim), "--prompt", "A kite [sim:ok]", "--out", out, "--json"]), "100 millis")
      expect(run.code).toBe(1)
      const report = JSON.parse(run.stdout)
      expect([report.served, report.notSaved, report.failed, report.cost]).toEqual([1, 1, 0, PRICE])
      expect(yield* billedCalls(sim, "gpt-image-1.5")).toBe(1)
      const item = report.items[0]
      expect(item.model).toBe("gpt-image-1.5")
      expect(item.attempts.map((a: { outcome: string; cost?: number }) => [a.outcome, a.cost])).toEqual([["success", PRICE]])
      const kept: string = item.saveFailure.keptAt[0]
      expect(item.saveFailure.message).toContain(kept)
      expect(readFileSync(kept).subarray(1, 4).toString()).toBe("PNG")
      expect(run.stderr).toContain("could not be saved")
    }).pipe(Effect.provide(Live)))

  it.scoped("an --out that cannot hold files is refused with exit 2 naming --out, before anything is sent", () =>
    Effect.gen(function*() {
      const sim = yield* slowSimulator(0)
      const config = imageConfig(sim)
      const file = tempFile("plain.txt", "not a directory")
      for (const [out, why] of [[join(file, "images"), "is not a directory"], [file, "is not a directory"], ["/dev/null", "kernel filesystem"], ["/sys/kernel/ear-test", "kernel filesystem"]] as const) {
        const run = yield* runCli(["image", "--config", config, "--prompt", "A kite [sim:ok]", "--out", out])
        expect([out, run.code, run.stdout, run.stderr]).toEqual([out, 2, "", expect.any(String)])
        expect(run.stderr).toMatch(/^error: --out: /)
        expect(run.stderr).toContain(why)
      }
      expect((yield* sim.snapshot).models.find((m) => m.id === "gpt-image-1.5")!.requests).toBe(0)
      expect(existsSync(join(file, "images"))).toBe(false)
    }).pipe(Effect.provide(Live)))
})

describe("video --out", () => {
  it.scoped("a directory, a path under a file or under /proc is refused with exit 2 naming --out, before anything is sent", () =>
    Effect.gen(function*() {
      const sim = yield* slowSimulator(0)
      const config = tempFile("models.json", JSON.stringify({
        video: [{ model: "sora-2", provider: "openai-compatible", baseUrl: `${sim.url}/v1`, apiKeyEnv: "SIM_KEY", price: 0.25 }]
      }))
      const file = tempFile("plain.txt", "not a directory")
      for (const [out, why] of [[tmpdir(), "is a directory"], [join(file, "v.mp4"), "is not a directory"], ["/proc/ear-test/v.mp4", "kernel filesystem"]] as const) {
        const run = yield* settle(runCli(["video", "--config", config, "--prompt", "A kite [sim:ok]", "--out", out]), "1 second", 200)
        expect([out, run.code, run.stdout]).toEqual([out, 2, ""])
        expect(run.stderr).toMatch(/^error: --out: /)
        expect(run.stderr).toContain(why)
      }
      expect((yield* sim.snapshot).models.every((m) => m.requests === 0 && m.rejected === 0)).toBe(true)
    }).pipe(Effect.provide(Live)))
})

describe("an interrupted batch", () => {
  it.scoped("prints the report of what finished (JSON) and says how far it got", () =>
    Effect.gen(function*() {
      const sim = yield* slowSimulator(1_000)
      const out: Array<string> = []
      const err: Array<string> = []
      const fiber = yield* Effect.fork(
        runCli(["image", "--config", imageConfig(sim), "--prompt", "A kite [sim:ok]", "--count", "10", "--concurrency", "2", "--json"], { out, err })
      )
      // the provider counts a call when it starts: the sixth starts once four have finished
      yield* settle(untilIo("six calls started", Effect.map(billedCalls(sim, "gpt-image-1.5"), (n) => n >= 6), 100_000), "100 millis")
      yield* Fiber.interrupt(fiber)
      const report = JSON.parse(out.join("\n"))
      expect(report.interrupted).toBe(true)
      expect(report.requests).toBe(10)
      expect(report.completed).toBeGreaterThanOrEqual(4)
      expect(report.completed).toBeLessThan(10)
      expect(report.served).toBe(report.completed)
      expect(report.cost).toBeCloseTo(report.served * PRICE, 9)
      expect(err.join("\n")).toContain(`interrupted after ${report.completed} of 10 request(s)`)
    }).pipe(Effect.provide(Live)))

  it.scoped("prints the human report of what finished", () =>
    Effect.gen(function*() {
      const sim = yield* slowSimulator(1_000)
      const out: Array<string> = []
      const fiber = yield* Effect.fork(
        runCli(["image", "--config", imageConfig(sim), "--prompt", "A kite [sim:ok]", "--count", "10", "--concurrency", "2"], { out, err: [] })
      )
      yield* settle(untilIo("four calls started", Effect.map(billedCalls(sim, "gpt-image-1.5"), (n) => n >= 4), 100_000), "100 millis")
      yield* Fiber.interrupt(fiber)
      expect(out.join("\n")).toMatch(/^interrupted: [2-9] of 10 request\(s\) finished: [2-9] served/m)
    }).pipe(Effect.provide(Live)))
})

const EVIL = "bad \u001b]0;owned\u0007 \u001b[2J\u001b[31mred\u001b[0m \u202eevil\u202c \u2066iso\u2069 \u009b2J \u0085next"

describe("provider text on the terminal", () => {
  it.scoped("escape sequences, bidi overrides and C1 controls are shown, not obeyed; --json keeps them exactly", () =>
    Effect.gen(function*() {
      const provider = yield* serveJson(400, { error: { message: EVIL, type: "invalid_request_error", param: "messages" } })
      const config = tempFile("models.json", JSON.stringify({
        text: [{ model: "gpt-4.1-mini", provider: "openai-compatible", baseUrl: `${provider.url}/v1`, apiKeyEnv: "SIM_KEY" }]
      }))
      const human = yield* settle(runCli(["--log-level", "debug", "text", "--config", config, "--prompt", "hi", "--count", "2"]), "100 millis")
      expect(human.code).toBe(1)
      for (const text of [human.stdout, human.stderr]) expect(terminalControls(text.replaceAll("\n", ""))).toEqual([])
      expect(human.stdout).toContain("bad \\x1b]0;owned\\x07 \\x1b[2J\\x1b[31mred\\x1b[0m \\u202eevil\\u202c \\u2066iso\\u2069 \\x9b2J \\x85next")
      expect(human.stderr).toContain("\\x1b]0;owned") // the log lines quote it too
      const json = yield* settle(runCli(["text", "--config", config, "--prompt", "hi", "--json"]), "100 millis")
      expect(JSON.parse(json.stdout).items[0].failure.message).toBe(EVIL)
    }).pipe(Effect.provide(Live)))
})

describe("stdout carries only the result", () => {
  const levels = ["all", "trace", "debug", "info", "warning", "error", "fatal", "none"]
  it.scoped("text --json is exactly one JSON document at every log level; the log lines are on stderr", () =>
    Effect.gen(function*() {
      const sim = yield* slowSimulator(0)
      yield* sim.setOverride("gpt-4.1-mini", "overloaded")
      const config = tempFile("models.json", JSON.stringify({
        text: [{ model: "gpt-4.1-mini", provider: "openai-compatible", baseUrl: `${sim.url}/v1`, apiKeyEnv: "SIM_KEY" }],
        retry: { maxAttempts: 2, base: "10 millis" }
      }))
      for (const level of levels) {
        const run = yield* settle(runCli(["--log-level", level, "text", "--config", config, "--prompt", "hi", "--json"]), "100 millis")
        expect(run.code).toBe(1)
        expect(JSON.parse(run.stdout)).toMatchObject({ requests: 1, failed: 1 })
        if (level === "all" || level === "trace" || level === "debug" || level === "info" || level === "warning") {
          expect(run.stderr).toMatch(/WARN .*attempt 1 failed: Overloaded/)
        }
      }
    }).pipe(Effect.provide(Live)))

  it.live("demo --json at --log-level warning: stdout is the JSON report alone, the warnings are on stderr", () =>
    Effect.gen(function*() {
      const run = yield* runCli(["--log-level", "warning", "demo", "--json", "--requests", "30"])
      expect(JSON.parse(run.stdout)).toMatchObject({ requests: 30 })
      expect(run.stderr).toMatch(/WARN .*attempt 1 failed: Overloaded/)
    }))

  it.effect("a defect is reported on stderr, neutralised, and exits 1; stdout stays empty", () =>
    Effect.gen(function*() {
      const run = yield* runProgram(Effect.dieMessage("boom \u001b[31m"))
      expect([run.code, run.stdout]).toEqual([1, ""])
      expect(run.stderr).toContain("internal error")
      expect(run.stderr).toContain("boom \\x1b[31m")
    }))

  it.effect("log lines go to stderr, neutralised, and only errors unless asked", () =>
    Effect.gen(function*() {
      const run = yield* runProgram(Effect.logWarning("quiet").pipe(Effect.zipRight(Effect.logError("loud \u001b]0;t\u0007", { a: "\u202e" })), Effect.as(0)))
      expect([run.code, run.stdout]).toEqual([0, ""])
      expect(run.stderr).not.toContain("quiet")
      expect(run.stderr).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] ERROR \(#\d+\): loud \\x1b\]0;t\\x07$/m)
      expect(run.stderr).toContain('  {"a":"\\u202e"}')
    }))
})
