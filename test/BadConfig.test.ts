/**
 * Issue #6 §5: bad configuration. Malformed JSON, an unknown provider kind, a
 * missing key variable, negative / zero / garbage time-outs, empty model
 * lists, typos, a file that does not exist: each is a message naming the field
 * and the problem, exit code 2, and nothing started — the loopback provider the
 * file points at is never contacted.
 */
import { NodeContext, NodeHttpClient } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Console, Effect, Layer } from "effect"
import { spawn } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { exitCode } from "../src/Cli.js"
import * as ClientConfig from "../src/ClientConfig.js"

const KEY_VAR = "BAD_CONFIG_TEST_KEY"
const KEY = "sk-bad-config-test-key-0123456789"

/**
 * The provider the files point at: an OpenAI-compatible endpoint on 127.0.0.1
 * that counts every connection made to it.
 */
let provider: { url: string; connections: number; close: () => Promise<void> }

beforeAll(async () => {
  const server = Http.createServer((request, response) => {
    request.resume()
    request.on("end", () => {
      response.writeHead(200, { "content-type": "application/json" })
      response.end(JSON.stringify({
        id: "chatcmpl-1",
        model: "gpt-4.1-mini",
        choices: [{ index: 0, message: { role: "assistant", content: "Hello there." }, finish_reason: "stop" }]
      }))
    })
  })
  const state = { url: "", connections: 0, close: () => Promise.resolve() }
  server.on("connection", () => {
    state.connections++
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  state.close = () => new Promise<void>((resolve) => server.close(() => resolve())).then(() => server.closeAllConnections())
  provider = state
})
afterAll(() => provider.close())

const model = () => ({ model: "gpt-4.1-mini", provider: "openai-compatible", baseUrl: `${provider.url}/v1`, apiKeyEnv: KEY_VAR })

const write = (content: string) => {
  const path = join(mkdtempSync(join(tmpdir(), "ear-bad-config-")), "models.json")
  writeFileSync(path, content)
  return path
}

/** Run the CLI in-process as the binary does: its exit code and what it printed. */
const run = (args: ReadonlyArray<string>, env: Readonly<Record<string, string>>) =>
  Effect.gen(function*() {
    const stdout: Array<string> = []
    const stderr: Array<string> = []
    const console = yield* Console.consoleWith(Effect.succeed)
    const captured: Console.Console = {
      ...console,
      log: (...parts: ReadonlyArray<unknown>) => Effect.sync(() => { stdout.push(parts.map(String).join(" ")) }),
      error: (...parts: ReadonlyArray<unknown>) => Effect.sync(() => { stderr.push(parts.map(String).join(" ")) })
    }
    const code = yield* exitCode(["node", "effect-ai-resilience", ...args]).pipe(
      Effect.withConsole(captured),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
    )
    return { code, stdout: stdout.join("\n"), stderr: stderr.join("\n") }
  }).pipe(Effect.provide(NodeContext.layer))

interface Case {
  readonly name: string
  /** The file's text (a function: the provider's URL is known only once it listens). */
  readonly file: () => string
  readonly env?: Readonly<Record<string, string>>
  /** What the message must say: the field, then the problem. */
  readonly says: ReadonlyArray<string | RegExp>
}

const json = (u: unknown) => JSON.stringify(u, null, 2)
const withKey = { [KEY_VAR]: KEY }

const cases: ReadonlyArray<Case> = [
  { name: "malformed JSON", file: () => "{ \"text\": [ { \"model\": ", says: ["models.json is not valid JSON", /Unexpected end of JSON input|Unexpected token/] },
  { name: "an empty file", file: () => "", says: ["models.json is not valid JSON"] },
  { name: "JSON that is not an object", file: () => "[]", says: [`(root): Expected an object with "text", "image" and/or "video" model lists, actual an array`] },
  { name: "null", file: () => "null", says: [`(root): Expected an object with "text", "image" and/or "video" model lists, actual null`] },
  {
    name: "an unknown provider kind",
    file: () => json({ text: [{ ...model(), provider: "anthropic" }] }),
    says: [`text[0].provider: Expected "openai-compatible" | "gemini", actual "anthropic"`]
  },
  {
    name: "a key variable that is not set",
    file: () => json({ text: [model()] }),
    env: {},
    says: [`text[0].apiKeyEnv: environment variable ${KEY_VAR} is not set (it must hold the key for gpt-4.1-mini)`]
  },
  {
    name: "a key variable that is set but blank",
    file: () => json({ text: [model()] }),
    env: { [KEY_VAR]: "  " },
    says: [`text[0].apiKeyEnv: environment variable ${KEY_VAR} is empty`]
  },
  {
    name: "the second model's key variable missing (the first one's is set)",
    file: () => json({ text: [model(), { ...model(), model: "gpt-4.1", apiKeyEnv: "BAD_CONFIG_OTHER_KEY" }] }),
    says: ["text[1].apiKeyEnv: environment variable BAD_CONFIG_OTHER_KEY is not set"]
  },
  { name: "a key variable name that is not one", file: () => json({ text: [{ ...model(), apiKeyEnv: "sk-live-123" }] }), says: [`text[0].apiKeyEnv: Expected the name of an environment variable`] },
  {
    name: "a negative time-out",
    file: () => json({ text: [{ ...model(), timeout: "-5 seconds" }] }),
    says: [`text[0].timeout: Expected a positive, finite duration, actual "-5 seconds"`]
  },
  { name: "a zero time-out", file: () => json({ text: [{ ...model(), timeout: "0 millis" }] }), says: [`text[0].timeout: Expected a positive, finite duration, actual "0 millis"`] },
  {
    name: "a garbage time-out",
    file: () => json({ text: [{ ...model(), timeout: "soon" }] }),
    says: [`text[0].timeout: Expected a duration such as "30 seconds" or "2 minutes", actual "soon"`]
  },
  {
    name: "a time-out as a bare number",
    file: () => json({ text: [{ ...model(), timeout: -5 }] }),
    says: [`text[0].timeout: Expected a duration as text such as "30 seconds" or "2 minutes", actual -5`]
  },
  {
    name: "negative and zero fallback time-outs",
    file: () => json({ text: [model()], fallback: { attemptTimeout: "-1 seconds", deadline: "0 seconds" } }),
    says: [`fallback.attemptTimeout: Expected a positive, finite duration, actual "-1 seconds"`, `fallback.deadline: Expected a positive, finite duration, actual "0 seconds"`]
  },
  { name: "a negative cache TTL", file: () => json({ text: [model()], cacheTtl: "-1 minutes" }), says: [`cacheTtl: Expected a positive, finite duration, actual "-1 minutes"`] },
  { name: "empty model lists", file: () => json({ text: [], image: [], video: [] }), says: [`the file lists no models: give at least one under "text", "image" or "video"`] },
  { name: "no model lists at all", file: () => json({ retry: { maxAttempts: 3 } }), says: ["the file lists no models"] },
  { name: "a typo at the top", file: () => json({ text: [model()], retyr: { maxAttempts: 3 } }), says: [/retyr: is unexpected, expected: .*"retry"/] },
  {
    name: "a typo in a model entry",
    file: () => json({ text: [{ ...model(), apiKeyEnv: undefined, apikeyEnv: KEY_VAR }] }),
    says: [/text\[0\]\.apikeyEnv: is unexpected, expected: .*"apiKeyEnv"/, "text[0].apiKeyEnv: is missing"]
  },
  { name: "a typo in a policy", file: () => json({ text: [model()], retry: { maxAttempt: 3 } }), says: [/retry\.maxAttempt: is unexpected, expected: .*"maxAttempts"/] },
  { name: "a base URL that is not one", file: () => json({ text: [{ ...model(), baseUrl: "localhost:8080" }] }), says: [`text[0].baseUrl: Expected an http(s) URL, actual "localhost:8080"`] },
  {
    name: "an OpenAI-compatible model without a base URL",
    file: () => json({ text: [{ ...model(), baseUrl: undefined }] }),
    says: [`text[0].baseUrl: is required for provider "openai-compatible"`]
  },
  { name: "a negative price", file: () => json({ text: [{ ...model(), price: -0.01 }] }), says: [/text\[0\]\.price: Expected a non-negative number/] },
  { name: "zero retry attempts", file: () => json({ text: [model()], retry: { maxAttempts: 0 } }), says: [/retry\.maxAttempts: Expected .*between 1 and 20.*, actual 0/] },
  { name: "a count as a string", file: () => json({ text: [model()], load: { concurrency: "4" } }), says: [`load.concurrency: Expected number, actual "4"`] },
  {
    name: "a breaker threshold only the breaker refuses",
    file: () => json({ text: [model()], breaker: { failureRateThreshold: 0 } }),
    says: [`models.json: breaker.failureRateThreshold: must be a number greater than 0 and at most 1, got 0`]
  },
  {
    name: "breaker durations that contradict each other",
    file: () => json({ text: [model()], breaker: { openDuration: "10 minutes", maxOpenDuration: "1 minute" } }),
    says: [/breaker\.maxOpenDuration: must be at least openDuration/]
  }
]

describe("bad configuration through the CLI: a message naming the field and the problem, exit 2, nothing contacted", () => {
  it.live.each(cases)("$name", ({ env, file, says }) =>
    Effect.gen(function*() {
      const path = write(file())
      const before = provider.connections
      const { code, stderr, stdout } = yield* run(["text", "--config", path, "--prompt", "hi"], env ?? withKey)
      expect(code).toBe(2)
      expect(stderr).toContain(path.endsWith("models.json") ? "models.json" : path)
      for (const words of says) {
        if (typeof words === "string") expect(stderr).toContain(words)
        else expect(stderr).toMatch(words)
      }
      expect(stdout).toBe("")
      expect(provider.connections - before).toBe(0)
    }))

  it.live("a config file that does not exist: the flag and the path are named, exit 2", () =>
    Effect.gen(function*() {
      const missing = join(mkdtempSync(join(tmpdir(), "ear-bad-config-")), "nowhere.json")
      for (const command of ["text", "image", "video", "status"]) {
        const { code, stderr, stdout } = yield* run([command, "--config", missing, "--prompt", "hi"], withKey)
        expect(code).toBe(2)
        expect(stderr).toContain(`--config: no such file: ${missing}`)
        expect(stdout).toBe("")
      }
    }))

  it.live("the same mistake stops every command before it starts anything (image, video, status: no server, no probe)", () =>
    Effect.gen(function*() {
      const path = write(json({ image: [{ ...model(), timeout: "-5 seconds" }], video: [model()], text: [model()] }))
      const before = provider.connections
      for (const args of [["image", "--prompt", "a kite"], ["video", "--prompt", "a kite"], ["status", "--port", "0"]]) {
        const { code, stderr, stdout } = yield* run([args[0]!, "--config", path, ...args.slice(1)], withKey)
        expect(code).toBe(2)
        expect(stderr).toContain(`image[0].timeout: Expected a positive, finite duration, actual "-5 seconds"`)
        expect(stdout).toBe("")
      }
      expect(provider.connections - before).toBe(0)
    }))

  it.live("the control: the same file with its key set and a sound time-out is served by that provider (exit 0)", () =>
    Effect.gen(function*() {
      const path = write(json({ text: [{ ...model(), timeout: "30 seconds" }] }))
      const before = provider.connections
      const { code, stderr } = yield* run(["text", "--config", path, "--prompt", "hi"], withKey)
      expect([code, stderr]).toEqual([0, ""])
      expect(provider.connections - before).toBeGreaterThan(0)
    }))
})

describe("bad configuration through the library: ClientConfig.load and build", () => {
  it.effect("load names the file and the problem; build names the field and the variable", () =>
    Effect.gen(function*() {
      const missing = yield* Effect.flip(ClientConfig.load("/nonexistent/models.json"))
      expect(missing.message).toMatch(/^cannot read \/nonexistent\/models\.json: /)
      const notJson = yield* Effect.flip(ClientConfig.load(write("{\"text\": [")))
      expect(notJson.message).toMatch(/models\.json is not valid JSON/)
      const file = yield* ClientConfig.load(write(json({ text: [model()] })))
      const unset = yield* Effect.flip(ClientConfig.build(file, "models.json").pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))))
      expect(unset.message).toBe(`models.json: text[0].apiKeyEnv: environment variable ${KEY_VAR} is not set (it must hold the key for gpt-4.1-mini)`)
    }).pipe(Effect.provide(Layer.merge(NodeContext.layer, NodeHttpClient.layerUndici))))
})

describe("the binary itself", () => {
  it("exits with code 2 and says why on stderr, without contacting the provider", async () => {
    const path = write(json({ text: [{ ...model(), provider: "anthropic" }] }))
    const before = provider.connections
    const child = spawn(join("node_modules", ".bin", "vite-node"), ["src/bin.ts", "--", "text", "--config", path, "--prompt", "hi"], {
      env: { ...process.env, [KEY_VAR]: KEY },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => { stdout += chunk.toString() })
    child.stderr.on("data", (chunk: Buffer) => { stderr += chunk.toString() })
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve))
    expect(stderr).toContain(`text[0].provider: Expected "openai-compatible" | "gemini", actual "anthropic"`)
    expect([code, stdout]).toEqual([2, ""])
    expect(provider.connections - before).toBe(0)
  }, 60_000)
})

/** `{"x": {"x": … {} …}}` nested `levels` deep, written as text (JSON.stringify itself recurses). */
const nested = (levels: number) => `${"{\"x\": ".repeat(levels - 1)}{}${"}".repeat(levels - 1)}`

describe("bad input refused quickly: size, depth and number of problems are bounded", () => {
  it.live("thousands of bad entries: the first 20 problems, each named, and a count of the rest", () =>
    Effect.gen(function*() {
      const bad = Array.from({ length: 5000 }, (_, i) => ({ ...model(), model: `m-${i}`, provider: "anthropic" }))
      const path = write(JSON.stringify({ text: bad }))
      const before = provider.connections
      const { code, stderr, stdout } = yield* run(["text", "--config", path, "--prompt", "hi"], withKey)
      expect(code).toBe(2)
      const listed = stderr.split("\n").filter((line) => /^ {2}text\[\d+\]\.provider: Expected "openai-compatible" \| "gemini", actual "anthropic"$/.test(line))
      expect(listed.map((line) => /\[(\d+)\]/.exec(line)![1])).toEqual(Array.from({ length: 20 }, (_, i) => String(i)))
      expect(stderr).toContain("  … and 4980 more entries with problems not listed")
      expect(stderr.split("\n").length).toBeLessThan(25)
      expect(stdout).toBe("")
      expect(provider.connections - before).toBe(0)
    }))

  it.live("problems beyond the first 20 are counted across the lists, and a bad top-level field is still named", () =>
    Effect.gen(function*() {
      const bad = (n: number) => Array.from({ length: n }, () => ({ ...model(), timeout: "soon" }))
      const path = write(JSON.stringify({ text: [model(), ...bad(15)], image: bad(10), video: [model(), 0], retyr: {} }))
      const { code, stderr, stdout } = yield* run(["text", "--config", path, "--prompt", "hi"], withKey)
      expect(code).toBe(2)
      expect(stderr).toContain(`text[15].timeout: Expected a duration such as "30 seconds" or "2 minutes", actual "soon"`)
      expect(stderr).toContain(`image[3].timeout: Expected a duration such as "30 seconds"`)
      expect(stderr).toMatch(/retyr: is unexpected/)
      // 20 lines: the typo, 15 text entries, 4 image entries; image[4] is the 21st line,
      // and the 5 image entries after it and the one in video were not decoded in full
      expect(stderr).not.toContain("image[4]")
      expect(stderr).toContain("  … and 1 more problem and 6 more entries with problems not listed")
      expect(stderr.split("\n")).toHaveLength(22)
      expect(stdout).toBe("")
    }))

  it.live("an entry that is not an object is named with what an entry looks like, not the whole type", () =>
    Effect.gen(function*() {
      const path = write(JSON.stringify({ text: [model(), 0] }))
      const { code, stderr } = yield* run(["text", "--config", path, "--prompt", "hi"], withKey)
      expect(code).toBe(2)
      expect(stderr).toContain(`text[1]: Expected a model entry, an object with "model", "provider" and "apiKeyEnv", actual 0`)
      expect(stderr).not.toContain("readonly")
    }))

  it.live("a file over 1 MiB is refused as such, named, before it is parsed", () =>
    Effect.gen(function*() {
      // valid JSON and a valid config but for its size
      const path = write(`${json({ text: [model()] })}${" ".repeat(1024 * 1024)}`)
      const before = provider.connections
      const { code, stderr, stdout } = yield* run(["text", "--config", path, "--prompt", "hi"], withKey)
      expect(code).toBe(2)
      expect(stderr).toBe(`error: ${path} is larger than the 1 MiB limit of a configuration file`)
      expect(stdout).toBe("")
      expect(provider.connections - before).toBe(0)
    }))

  it.live("a config nested 5000 levels deep: exit 2 naming the place, no stack overflow", () =>
    Effect.gen(function*() {
      const path = write(`{"text": [{"model": "m", "provider": "gemini", "apiKeyEnv": "${KEY_VAR}", "capabilities": ${nested(5000)}}]}`)
      const { code, stderr, stdout } = yield* run(["text", "--config", path, "--prompt", "hi"], withKey)
      expect(code).toBe(2)
      expect(stderr).toBe(`error: ${path}: text[0].capabilities.x.x.x.x.x…: nested deeper than 64 levels`)
      expect(stdout).toBe("")
    }))

  it.live("the same limits hold for a simulator config", () =>
    Effect.gen(function*() {
      const deep = write(`{"models": [{"id": "m", "vendor": "v", "kind": "text", "capabilities": ${nested(5000)}}]}`)
      const a = yield* run(["simulate", "--config", deep], {})
      expect([a.code, a.stdout]).toEqual([2, ""])
      expect(a.stderr).toBe(`error: ${deep}: models[0].capabilities.x.x.x.x.x…: nested deeper than 64 levels`)
      const many = write(JSON.stringify({ models: Array.from({ length: 3000 }, () => 0) }))
      const b = yield* run(["simulate", "--config", many], {})
      expect([b.code, b.stdout]).toEqual([2, ""])
      expect(b.stderr.split("\n").filter((line) => /^ {2}models\[\d+\]: /.test(line))).toHaveLength(20)
      expect(b.stderr).toContain("… and 2980 more entries with problems not listed")
    }))

  it.live("nesting up to the limit is not refused for its depth", () =>
    Effect.gen(function*() {
      // 64 levels in all: the root, the list, the entry, capabilities and 60 below it
      const path = write(`{"text": [{"model": "m", "provider": "gemini", "apiKeyEnv": "${KEY_VAR}", "capabilities": ${nested(61)}}]}`)
      const { code, stderr } = yield* run(["text", "--config", path, "--prompt", "hi"], withKey)
      expect(code).toBe(2)
      expect(stderr).not.toContain("nested deeper")
      expect(stderr).toMatch(/text\[0\]\.capabilities\.x: is unexpected/)
    }))
})

interface FlagCase {
  readonly args: ReadonlyArray<string>
  /** The whole of stderr: one line naming the flag. */
  readonly says: string
}

const flagCases = (config: string): ReadonlyArray<FlagCase> => [
  { args: ["simulate", "--time-scale", "1e309"], says: `--time-scale: must be a finite number, got "1e309"` },
  { args: ["simulate", "--time-scale", "Infinity"], says: `--time-scale: must be a finite number, got "Infinity"` },
  { args: ["simulate", "--time-scale", "NaN"], says: `--time-scale: must be a finite number, got "NaN"` },
  { args: ["simulate", "--time-scale", "-1"], says: "error: invalid simulator settings (from --time-scale):\n  timeScale: Expected a positive number, actual -1" },
  {
    args: ["simulate", "--time-scale", "1e7"],
    says: "error: invalid simulator settings (from --time-scale):\n  timeScale: Expected a number between 0.001 and 1000000, actual 10000000"
  },
  { args: ["simulate", "--port", "1e309"], says: `--port: must be an integer, got "1e309"` },
  { args: ["simulate", "--seed", "NaN"], says: `--seed: must be an integer, got "NaN"` },
  { args: ["simulate", "--seed", "2.5"], says: `--seed: must be an integer, got "2.5"` },
  { args: ["video", "--config", config, "--prompt", "hi", "--seconds", "-3"], says: "error: --seconds: must be a whole number of seconds, at least 1, got -3" },
  { args: ["video", "--config", config, "--prompt", "hi", "--seconds", "0"], says: "error: --seconds: must be a whole number of seconds, at least 1, got 0" },
  { args: ["video", "--config", config, "--prompt", "hi", "--seconds", "1e309"], says: `--seconds: must be an integer, got "1e309"` },
  { args: ["video", "--config", config, "--prompt", "hi", "--seconds", "NaN"], says: `--seconds: must be an integer, got "NaN"` },
  { args: ["text", "--config", config, "--prompt", "hi", "--count", "1e309"], says: `--count: must be an integer, got "1e309"` },
  { args: ["text", "--config", config, "--prompt", "hi", "--count", "-1"], says: "error: --count: must be an integer from 1 to 100000, got -1" },
  { args: ["text", "--config", config, "--prompt", "hi", "--concurrency", "Infinity"], says: `--concurrency: must be an integer, got "Infinity"` },
  { args: ["image", "--config", config, "--prompt", "hi", "--images", "NaN"], says: `--images: must be an integer, got "NaN"` },
  { args: ["image", "--config", config, "--prompt", "hi", "--images", "-2"], says: "error: --images: must be an integer from 1 to 10, got -2" },
  { args: ["status", "--config", config, "--port", "NaN"], says: `--port: must be an integer, got "NaN"` },
  { args: ["status", "--config", config, "--probe-interval", "1e309"], says: `--probe-interval: must be an integer, got "1e309"` },
  { args: ["status", "--config", config, "--probe-interval", "100000"], says: "error: --probe-interval: must be a whole number of seconds from 10 to 86400, got 100000" },
  { args: ["demo", "--requests", "NaN"], says: `--requests: must be an integer, got "NaN"` },
  { args: ["demo", "--seed", "1e309"], says: `--seed: must be an integer, got "1e309"` },
  { args: ["demo", "--status-port", "-1"], says: "error: --status-port: must be a port from 0 to 65535, got -1" }
]

describe("numeric flags: NaN, Infinity, 1e309 and out-of-range values are refused with one line naming the flag, exit 2", () => {
  it.live("every command", () =>
    Effect.gen(function*() {
      const config = write(json({ text: [model()], image: [model()], video: [model()] }))
      const before = provider.connections
      for (const { args, says } of flagCases(config)) {
        const { code, stderr, stdout } = yield* run(args, withKey)
        expect({ args, code, stderr: stderr.trim(), stdout }).toEqual({ args, code: 2, stderr: says, stdout: "" })
      }
      expect(provider.connections - before).toBe(0)
    }))

  it.live("a simulator config file with an infinite time scale or latency (JSON reads 1e309 as Infinity)", () =>
    Effect.gen(function*() {
      const path = write(`{"timeScale": 1e309, "models": [{"id": "m", "vendor": "v", "kind": "text", "latency": {"medianMs": 1e309}}]}`)
      const { code, stderr, stdout } = yield* run(["simulate", "--config", path], {})
      expect([code, stdout]).toEqual([2, ""])
      expect(stderr).toContain("  timeScale: Expected a finite number, actual Infinity")
      expect(stderr).toContain("  models[0].latency.medianMs: Expected a finite number, actual Infinity")
    }))
})
