/**
 * The binary as a child process (through vite-node, as the other binary
 * tests run it) against a simulator in this process: what reaches stdout and
 * stderr, exit codes, and signals.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { join } from "node:path"
import * as Simulator from "../src/Simulator.js"
import { tempFile } from "./support/cliRun.js"
import { untilIo, watchServer } from "./support/serverWatch.js"
import { KEY } from "./support/simulator.js"

interface Child {
  readonly stdout: () => string
  readonly stderr: () => string
  readonly signal: (name: NodeJS.Signals) => void
  /** Resolves with the exit code; the child is killed if it has not ended within `limitMs`. */
  readonly exited: Promise<number | null>
}

const start = (args: ReadonlyArray<string>, onStderr?: (all: string, child: Child) => void, limitMs = 60_000): Child => {
  const proc = spawn(join("node_modules", ".bin", "vite-node"), ["src/bin.ts", "--", ...args], {
    env: { ...process.env, SIM_KEY: KEY },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let out = ""
  let err = ""
  // a child that never ends (a hang) is killed: the test then fails on its exit code
  const guard = setTimeout(() => proc.kill("SIGKILL"), limitMs)
  const child: Child = {
    stdout: () => out,
    stderr: () => err,
    signal: (name) => { proc.kill(name) },
    exited: new Promise((resolve) => proc.on("close", (code) => { clearTimeout(guard); resolve(code) }))
  }
  proc.stdout.on("data", (chunk: Buffer) => { out += chunk.toString() })
  proc.stderr.on("data", (chunk: Buffer) => {
    err += chunk.toString()
    onStderr?.(err, child)
  })
  return child
}

const simulator = (latencyMs: number) =>
  Simulator.make(Simulator.makeConfig({
    seed: 7,
    timeScale: 1,
    apiKeys: [KEY],
    models: [
      { id: "gpt-image-1.5", vendor: "openai", kind: "image", latency: { medianMs: latencyMs, p95Ms: latencyMs }, capabilities: { defaultImageOutput: "b64_json" } },
      { id: "gpt-4.1-mini", vendor: "openai", kind: "text", latency: { medianMs: 0, p95Ms: 0 } },
      { id: "gemini-2.5-flash", vendor: "google", kind: "text", latency: { medianMs: 0, p95Ms: 0 } }
    ]
  }))

const imageConfig = (url: string) =>
  tempFile("models.json", JSON.stringify({ image: [{ model: "gpt-image-1.5", provider: "openai-compatible", baseUrl: `${url}/v1`, apiKeyEnv: "SIM_KEY", price: 0.05 }] }))

describe("the binary's output", () => {
  it.live("--log-level warning text --json: stdout is exactly the JSON report, the warnings are on stderr", () =>
    Effect.gen(function*() {
      const sim = yield* simulator(0)
      yield* sim.setOverride("gemini-2.5-flash", "overloaded")
      const config = tempFile("models.json", JSON.stringify({
        text: [
          { model: "gemini-2.5-flash", provider: "gemini", baseUrl: sim.url, apiKeyEnv: "SIM_KEY" },
          { model: "gpt-4.1-mini", provider: "openai-compatible", baseUrl: `${sim.url}/v1`, apiKeyEnv: "SIM_KEY" }
        ],
        retry: { maxAttempts: 1 }
      }))
      const child = start(["--log-level", "warning", "text", "--config", config, "--prompt", "Hi [sim:ok]", "--json"])
      const code = yield* Effect.promise(() => child.exited)
      expect(code).toBe(0)
      expect(JSON.parse(child.stdout())).toMatchObject({ requests: 1, served: 1, fellBack: 1 })
      expect(child.stderr()).toMatch(/WARN .*gemini-2\.5-flash attempt 1 failed: Overloaded/)
    }).pipe(Effect.scoped), 90_000)

  it.live("--out under /proc is refused at once with exit 2 naming --out; nothing is sent, nothing spins", () =>
    Effect.gen(function*() {
      const sim = yield* simulator(0)
      const child = start(["image", "--config", imageConfig(sim.url), "--prompt", "A kite [sim:ok]", "--out", "/proc/ear-test/images"], undefined, 45_000)
      const code = yield* Effect.promise(() => child.exited)
      expect([code, child.stdout()]).toEqual([2, ""])
      expect(child.stderr()).toMatch(/^error: --out: \/proc\/ear-test\/images is under \/proc/)
      expect((yield* sim.snapshot).models.find((m) => m.id === "gpt-image-1.5")!.requests).toBe(0)
    }).pipe(Effect.scoped), 90_000)
})

describe("a batch stopped by a signal", () => {
  const stopped = (signal: NodeJS.Signals, json: boolean) =>
    Effect.gen(function*() {
      const sim = yield* simulator(1_500)
      const watch = yield* watchServer(sim.port)
      let sent = false
      // once two requests have finished (the progress lines on stderr say so), send the signal
      const child = start(
        ["image", "--config", imageConfig(sim.url), "--prompt", "A kite [sim:ok]", "--count", "20", "--concurrency", "2", ...(json ? ["--json"] : [])],
        (err, self) => {
          if (!sent && err.includes("[2/20]")) {
            sent = true
            self.signal(signal)
          }
        }
      )
      const code = yield* Effect.promise(() => child.exited)
      expect(sent).toBe(true)
      // every exchange with the provider ended: the child left nothing open
      yield* untilIo("every exchange closed", Effect.map(watch.open, (n) => n === 0), 100_000)
      const exchanges = yield* watch.exchanges
      expect(exchanges.length).toBeLessThan(20)
      return { code, stdout: child.stdout(), stderr: child.stderr(), exchanges }
    }).pipe(Effect.scoped)

  it.live("SIGINT with --json: exit 130, the JSON report of what finished, and how far it got on stderr", () =>
    Effect.gen(function*() {
      const { code, exchanges, stderr, stdout } = yield* stopped("SIGINT", true)
      expect(code).toBe(130)
      const report = JSON.parse(stdout)
      expect(report).toMatchObject({ requests: 20, interrupted: true })
      expect(report.completed).toBeGreaterThanOrEqual(2)
      expect(report.completed).toBeLessThan(20)
      expect(report.served).toBe(report.items.filter((i: { ok: boolean }) => i.ok).length)
      expect(report.completed).toBeLessThanOrEqual(exchanges.filter((e) => e.answered).length)
      expect(stderr).toContain(`interrupted after ${report.completed} of 20 request(s)`)
    }), 90_000)

  it.live("SIGTERM: exit 143 and the text report of what finished", () =>
    Effect.gen(function*() {
      const { code, stderr, stdout } = yield* stopped("SIGTERM", false)
      expect(code).toBe(143)
      expect(stdout).toMatch(/^interrupted: (\d+) of 20 request\(s\) finished: \1 served \(0 by a fallback\), 0 failed; cost \$/m)
      expect(stderr).toMatch(/interrupted after \d+ of 20 request\(s\)/)
    }), 90_000)
})
