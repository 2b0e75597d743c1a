/**
 * The package as a user gets it: `npm pack`, installed from the tarball into a
 * new app next to the peers the app chooses, compiled under a strict tsconfig
 * and run. What `src/` allows does not count here; only what the tarball
 * exports, types and loads.
 *
 * Installing needs the npm registry (the app's own dependencies are resolved
 * there, as a user's are); the tarballs themselves come from npm's cache,
 * which `npm ci` filled.
 */
import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"

const repo = resolve(import.meta.dirname, "..")
const version = (pkg: string): string => JSON.parse(readFileSync(join(repo, "node_modules", pkg, "package.json"), "utf8")).version

const run = (command: string, args: ReadonlyArray<string>, cwd: string, env: Record<string, string> = {}) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolvePromise) => {
    execFile(command, args, { cwd, env: { ...process.env, ...env }, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolvePromise({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr })
    )
  })

const must = async (what: string, result: Promise<{ code: number; stdout: string; stderr: string }>) => {
  const r = await result
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`)
  return r
}

// The app's tsconfig: what a careful Effect app turns on. (skipLibCheck as
// Effect's own templates set it: @effect/platform-node's declarations need
// @types/ws, which an app does not install; ours are checked by our build.)
const tsconfig = {
  compilerOptions: {
    target: "ES2022",
    module: "NodeNext",
    moduleResolution: "NodeNext",
    lib: ["ES2022", "DOM"],
    types: ["node"],
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    noImplicitOverride: true,
    verbatimModuleSyntax: true,
    skipLibCheck: true,
    outDir: "out",
    rootDir: "src"
  },
  include: ["src"]
}

// A small backend's resilient text call: a primary on the Gemini wire format
// that is overloaded, a fallback on the OpenAI one, both against the simulator
// from the package's own `simulator` entry point; then the same chain with a
// scripted provider from `testing`. Options are passed with explicit
// `undefined`s, as code that forwards its own optional settings does.
const app = `
import { NodeHttpClient } from "@effect/platform-node"
import { type Duration, Effect, Layer, Redacted } from "effect"
import {
  CircuitBreaker,
  Gemini,
  HardFailure,
  OpenAICompatible,
  ResilientClient,
  RetryPolicy,
  TextGeneration,
  isRetryable
} from "effect-ai-resilience"
import * as Simulator from "effect-ai-resilience/simulator"
import { ScriptedProvider } from "effect-ai-resilience/testing"

const KEY = "sk-consumer-test-key-0123456789"

// the app's own optional settings, forwarded as they are (undefined when unset)
interface Settings {
  readonly deadline?: Duration.DurationInput | undefined
  readonly maxAttempts?: number | undefined
  readonly timeout?: Duration.DurationInput | undefined
}
const settings: Settings = { maxAttempts: undefined }

const Policies = Layer.mergeAll(
  RetryPolicy.layer({ jitter: "none", base: "1 millis", maxAttempts: 2 }),
  CircuitBreaker.layer()
)

const overSimulator = Effect.gen(function*() {
  const sim = yield* Simulator.make(Simulator.makeConfig({
    seed: 1,
    timeScale: 1,
    apiKeys: [KEY],
    models: [
      { id: "gemini-2.5-flash", vendor: "google", kind: "text", latency: { medianMs: 0, p95Ms: 0 } },
      { id: "gpt-4.1-mini", vendor: "openai", kind: "text", latency: { medianMs: 0, p95Ms: 0 } }
    ]
  }))
  yield* sim.setOverride("gemini-2.5-flash", "overloaded")
  const apiKey = Redacted.make(KEY)
  const gemini = yield* Gemini.make({ name: "gemini", baseUrl: sim.url, apiKey, timeout: settings.timeout, maxResponseBytes: undefined })
  const openai = yield* OpenAICompatible.make({ name: "openai", baseUrl: sim.url, apiKey, timeout: "10 seconds" })
  const client = yield* ResilientClient.make({
    text: [
      { model: "gemini-2.5-flash", provider: gemini },
      { model: "gpt-4.1-mini", provider: openai }
    ],
    fallback: { deadline: settings.deadline, retry: { maxAttempts: settings.maxAttempts } },
    load: { requestsPerMinute: undefined }
  })
  const served = yield* client.generateText({ messages: [{ role: "user", content: "hello" }] }, { deadline: settings.deadline })
  return { model: served.model, fellBack: served.fellBack, content: served.value.content }
})

const scripted = Effect.gen(function*() {
  const script = yield* ScriptedProvider.make({
    generateText: [
      Effect.fail(new HardFailure({ reason: "Overloaded", provider: "scripted", model: "m", status: 503, message: "high demand" })),
      Effect.succeed(TextGeneration.TextResult.make({ provider: "scripted", model: "m", content: "ok", toolCalls: [], finishReason: "stop" }))
    ]
  })
  const client = yield* ResilientClient.make({ text: [{ model: "m", provider: script.provider }] })
  const served = yield* client.generateText({ messages: [{ role: "user", content: "hi" }] })
  const calls = yield* script.calls
  return { content: served.value.content, calls: calls.length, retryable503: isRetryable(new HardFailure({ reason: "Overloaded", provider: "p", model: "m", status: 503, message: "x" })) }
})

const program = Effect.all({ overSimulator, scripted }).pipe(
  Effect.scoped,
  Effect.provide(Layer.merge(Policies, NodeHttpClient.layerUndici))
)

Effect.runPromise(program).then(
  (result) => process.stdout.write(JSON.stringify(result) + "\\n"),
  (error) => { process.stderr.write(String(error) + "\\n"); process.exitCode = 1 }
)
`

// Records every module the root import loads (a module-resolution hook on
// its own thread, writing to a file as it goes).
const hooks = `
import { appendFileSync } from "node:fs"
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context)
  appendFileSync(process.env.LOADED_LOG, result.url + "\\n")
  return result
}
`
const register = `
import { register } from "node:module"
register("./hooks.mjs", import.meta.url)
`

describe("the packed package in a new strict app", () => {
  it("installs with effect as a peer, compiles under strict options, runs, and its root import loads no CLI or server code", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ear-consumer-"))
    try {
      const packed = await must("npm pack", run("npm", ["pack", "--json", "--pack-destination", dir], repo))
      const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as Array<{ filename: string; files: Array<{ path: string }> }>
      if (info === undefined) throw new Error("npm pack printed no file")
      const shipped = info.files.map((f) => f.path)
      expect(shipped).toContain("dist/index.js")
      expect(shipped).toContain("dist/index.d.ts")
      expect(shipped.filter((p) => p.endsWith(".test.ts") || p.startsWith("test/"))).toEqual([])

      const appDir = join(dir, "app")
      mkdirSync(join(appDir, "src"), { recursive: true })
      writeFileSync(join(appDir, "package.json"), JSON.stringify({
        name: "consumer-app",
        private: true,
        type: "module",
        dependencies: {
          "effect-ai-resilience": `file:${join(dir, info.filename)}`,
          "effect": version("effect"),
          "@effect/platform": version("@effect/platform"),
          "@effect/platform-node": version("@effect/platform-node")
        },
        devDependencies: { "typescript": version("typescript"), "@types/node": version("@types/node") }
      }, null, 2))
      writeFileSync(join(appDir, "tsconfig.json"), JSON.stringify(tsconfig, null, 2))
      writeFileSync(join(appDir, "src", "app.ts"), app)
      writeFileSync(join(appDir, "hooks.mjs"), hooks)
      writeFileSync(join(appDir, "register.mjs"), register)

      await must("npm install", run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel", "error"], appDir))
      // one copy of effect: the app's (a second copy would split Tags, the TestClock and the metric registry)
      expect(existsSync(join(appDir, "node_modules", "effect-ai-resilience", "node_modules", "effect"))).toBe(false)
      expect(existsSync(join(appDir, "node_modules", "effect-ai-resilience", "node_modules", "@effect", "platform"))).toBe(false)

      await must("tsc", run(process.execPath, [join("node_modules", "typescript", "bin", "tsc"), "-p", "."], appDir))

      const ran = await must("the app", run(process.execPath, [join("out", "app.js")], appDir))
      // the result is the last line (Effect's default logger, which the app keeps, writes the attempts' log lines before it)
      expect(JSON.parse(ran.stdout.trim().split("\n").at(-1) ?? "")).toEqual({
        overSimulator: { model: "gpt-4.1-mini", fellBack: true, content: expect.any(String) },
        scripted: { content: "ok", calls: 2, retryable503: true }
      })

      // what the root entry point loads
      const log = join(dir, "loaded.txt")
      writeFileSync(log, "")
      await must("import", run(process.execPath, ["--import", "./register.mjs", "-e", `await import("effect-ai-resilience")`], appDir, { LOADED_LOG: log }))
      const loaded = readFileSync(log, "utf8").split("\n").filter((l) => l.length > 0)
      expect(loaded.some((u) => u.includes("/effect-ai-resilience/dist/index.js"))).toBe(true)
      const forbidden = loaded.filter((u) =>
        /\/@effect\/(cli|printer|printer-ansi|platform-node|platform-node-shared)\//.test(u) ||
        /^node:(http|https|net|child_process|http2|tls)$/.test(u) ||
        /\/effect-ai-resilience\/dist\/(Cli|Demo|Walkthrough|ClientConfig|Simulator|bin)\.js$/.test(u) ||
        /\/effect-ai-resilience\/dist\/internal\/(simulator|cli)\//.test(u)
      )
      expect(forbidden).toEqual([])

      // the CLI, the demo and internals are not importable
      const blocked = await run(process.execPath, ["-e", `await import("effect-ai-resilience/Cli")`], appDir)
      expect(blocked.code).not.toBe(0)
      expect(blocked.stderr).toContain("ERR_PACKAGE_PATH_NOT_EXPORTED")
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 300_000)
})
