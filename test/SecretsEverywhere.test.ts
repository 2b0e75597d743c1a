/**
 * End to end: every CLI command and its failure paths run with
 * recognisable fake keys (read from environment variables, as a user would
 * set them), and no spelling of a key appears in anything a person or a
 * system could see: stdout, stderr, every log line at `--log-level debug`,
 * the exit's cause, the `status` endpoints (`/status`, the first event of
 * `/status/events`, the HTML page), and every rendering of the failures the
 * resilient client produces (String, toString, JSON, Cause.pretty, inspect).
 *
 * Besides the echo server below (the key raw, masked, URL-encoded) the
 * providers include the hostile one of test/support/hostileProvider.ts, which
 * echoes the key JSON-escaped, upper-cased, in pieces, in base64,
 * percent-encoded and as HTML references, in every error field and in the
 * `x-request-id` header, on both wire formats.
 *
 * Complements test/Secrets.test.ts (adapters: spans, failure fields, logs of
 * direct adapter calls): here the keys travel through the config file, the
 * CLI, the resilient client and the status server.
 */
import { NodeContext } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Cause, Console, Effect, Exit, Fiber, Layer, Logger, LogLevel, Schema, TestClock } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inspect } from "node:util"
import { clientFromFile, exitCode } from "../src/Cli.js"
import { GenerationFailure as GenerationFailureSchema, isGenerationFailure } from "../src/Failure.js"
import * as Simulator from "../src/Simulator.js"
import { Message } from "../src/TextGeneration.js"
import { settle } from "./support/clock.js"
import { HttpLive, testConfig } from "./support/simulator.js"
import { ENCODING_NAMES, startHostile } from "./support/hostileProvider.js"
import { keyEchoServer } from "./support/keyEchoServer.js"
import { leaksBySurface as leaksBySurfaceOf, renderLogLine, show } from "./support/leaks.js"

// ---------------------------------------------------------------------------
// keys and what counts as a leak
// ---------------------------------------------------------------------------

/** A gateway key: recognisable by its `SECRET` marker, and not `sk-…`-shaped. */
const GW_KEY = "gw-live-SECRET-7f3a9c2e5b8d"
/** An OpenAI-style project key the simulator accepts. */
const SK_KEY = "sk-proj-SECRET-Hx72Lq9vWm4Tz8Rb"
/** A project key the simulator rejects (it answers with the masked echo `sk-pr***…`). */
const WRONG_KEY = "sk-proj-SECRET-WRONG-Pd3Kf8Vn1Qs6"
/** A key that URL-encoding and JSON escaping change. */
const B64_KEY = "gw-b64-SECRET+Qk7Zp2/Rm9Xw4=Vb3"
/** A key pasted with blanks around it (HTTP trims them: the provider echoes the bare key). */
const PADDED_KEY = "gw-pad-SECRET-3b9d1f7a2c6e"
/** A key saved with its trailing newline (`echo key > file`): no valid header can carry it. */
const NEWLINE_KEY = "sk-proj-SECRET-NL-Wc5Jr8Tk2Ze7"
/** The keys hard-coded in the demo and the walkthrough (they cannot read the environment). */
const DEMO_KEY = "sk-sim-demo-0123456789abcdef"
const WALKTHROUGH_WRONG_KEY = "sk-wrong-key-9999"

const ENV: Readonly<Record<string, string>> = {
  EAR_FAKE_GW_KEY: GW_KEY,
  EAR_FAKE_SK_KEY: SK_KEY,
  EAR_FAKE_WRONG_KEY: WRONG_KEY,
  EAR_FAKE_B64_KEY: B64_KEY,
  EAR_FAKE_PADDED_KEY: `  ${PADDED_KEY}\t`,
  EAR_FAKE_NEWLINE_KEY: `${NEWLINE_KEY}\n`
}
const CONFIG_KEYS = [GW_KEY, SK_KEY, WRONG_KEY, B64_KEY, PADDED_KEY, NEWLINE_KEY]
const ALL_KEYS = [...CONFIG_KEYS, DEMO_KEY, WALKTHROUGH_WRONG_KEY]

beforeAll(() => {
  for (const [name, value] of Object.entries(ENV)) process.env[name] = value
})
afterAll(() => {
  for (const name of Object.keys(ENV)) delete process.env[name]
})

/** `{ where: [leaks] }` for every surface that shows a key (or the `SECRET` marker of the configured keys). */
const leaksBySurface = (surfaces: Readonly<Record<string, string>>, keys: ReadonlyArray<string> = ALL_KEYS) =>
  leaksBySurfaceOf(surfaces, keys, "SECRET")

describe("SecretsEverywhere: the leak detector", () => {
  it("finds every spelling and a piece of a key, and passes the scrubbed forms", () => {
    const found = (text: string) => Object.keys(leaksBySurface({ text }, [GW_KEY, B64_KEY]).text === undefined ? {} : { leak: 1 })
    for (
      const text of [
        `key ${GW_KEY}.`,
        "Incorrect API key provided: gw-li***c2e5b8d.",
        "Incorrect API key provided: gw-li***5b8d.",
        `?key=${encodeURIComponent(B64_KEY)}`,
        JSON.stringify({ m: B64_KEY.replaceAll("/", "\\/") }),
        `cut at the limit: …${GW_KEY.slice(0, 13)}`,
        "sk-proj-SECRET-…"
      ]
    ) expect(found(text), text).toEqual(["leak"])
    expect(found("Incorrect API key provided: [REDACTED]. (key [REDACTED], [REDACTED])")).toEqual([])
  })
})

// ---------------------------------------------------------------------------
// running the CLI in-process with everything captured
// ---------------------------------------------------------------------------

interface Captured {
  readonly out: Array<string>
  readonly err: Array<string>
  readonly logs: Array<string>
  readonly logger: Logger.Logger<unknown, void>
}

const capture = (): Captured => {
  const logs: Array<string> = []
  const logger = Logger.make<unknown, void>((options) => {
    logs.push(renderLogLine(options))
  })
  return { out: [], err: [], logs, logger }
}

const render = (parts: ReadonlyArray<unknown>) => parts.map((p) => (typeof p === "string" ? p : inspect(p, { depth: 8 }))).join(" ")

const consoleFor = (base: Console.Console, cap: Captured): Console.Console => {
  const out = (...parts: ReadonlyArray<unknown>) => Effect.sync(() => { cap.out.push(render(parts)) })
  const err = (...parts: ReadonlyArray<unknown>) => Effect.sync(() => { cap.err.push(render(parts)) })
  const unsafeOut = (...parts: ReadonlyArray<unknown>) => { cap.out.push(render(parts)) }
  const unsafeErr = (...parts: ReadonlyArray<unknown>) => { cap.err.push(render(parts)) }
  return {
    ...base,
    log: out,
    info: out,
    debug: out,
    dir: (item: unknown) => out(item),
    table: (data: unknown) => out(data),
    error: err,
    warn: err,
    trace: err,
    unsafe: { ...base.unsafe, log: unsafeOut, info: unsafeOut, debug: unsafeOut, error: unsafeErr, warn: unsafeErr, trace: unsafeErr }
  }
}

/** Capture direct writes to process.stdout / process.stderr (the batch progress lines, video progress in --json). */
const patchStd = (cap: Captured) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const saved = { out: process.stdout.write, err: process.stderr.write }
      const writer = (into: Array<string>) => ((chunk: unknown, ...rest: Array<unknown>) => {
        into.push(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"))
        const callback = rest.find((r) => typeof r === "function") as (() => void) | undefined
        if (callback !== undefined) callback()
        return true
      }) as typeof process.stdout.write
      process.stdout.write = writer(cap.out)
      process.stderr.write = writer(cap.err)
      return saved
    }),
    (saved) => Effect.sync(() => { process.stdout.write = saved.out; process.stderr.write = saved.err })
  )

/** Run `effect-ai-resilience …args --log-level debug` as bin.ts does (exit code, `error: …` on stderr), capturing everything. */
const runCli = (cap: Captured, args: ReadonlyArray<string>) =>
  Effect.scoped(Effect.gen(function*() {
    yield* patchStd(cap)
    const base = yield* Console.consoleWith(Effect.succeed)
    return yield* Effect.exit(
      exitCode(["node", "effect-ai-resilience", "--log-level", "debug", ...args]).pipe(
        Effect.withConsole(consoleFor(base, cap)),
        Effect.provide(Logger.replace(Logger.defaultLogger, cap.logger)),
        Effect.provide(NodeContext.layer)
      )
    )
  }))

/** Every surface of a finished CLI run. */
const surfacesOfRun = (name: string, cap: Captured, exit: Exit.Exit<number, unknown>): Record<string, string> => ({
  [`${name}: stdout`]: cap.out.join("\n"),
  [`${name}: stderr`]: cap.err.join("\n"),
  ...Object.fromEntries(cap.logs.map((line, i) => [`${name}: log line ${i}`, line])),
  [`${name}: exit`]: Exit.isSuccess(exit) ? String(exit.value) : `${Cause.pretty(exit.cause)}\n${show(Cause.squash(exit.cause))}`
})

const codeOf = (exit: Exit.Exit<number, unknown>): number | string => (Exit.isSuccess(exit) ? exit.value : Cause.pretty(exit.cause))

// ---------------------------------------------------------------------------
// a provider that echoes the key back (node:http), and the simulator
// ---------------------------------------------------------------------------

/**
 * Answers by the `echo-<mode>` in the model name (URL for Gemini, body for
 * OpenAI-compatible, multipart field for video), quoting the key it was sent
 * (`authorization: Bearer …` or `x-goog-api-key`):
 * - `echo-401`: `Incorrect API key provided: <key>` (OpenAI), `API key not valid: <key>` (Google);
 * - `echo-masked`: the masked echo `gw-li***c2e5b8d`;
 * - `echo-400`: a bad request whose message and `param` are the key;
 * - `echo-503`: an overloaded gateway quoting the key raw and URL-encoded (retried, falls over);
 * - `echo-urlenc`: the key URL-encoded in a URL of the message.
 */
const startEcho = keyEchoServer(({ path, body, key, google }, res) => {
  const mode = /echo-(401|400|masked|503|urlenc)/.exec(`${path} ${body}`)?.[1] ?? "401"
  const send = (status: number, payload: unknown) => {
    res.writeHead(status, { "content-type": "application/json" })
    res.end(JSON.stringify(payload))
  }
  const masked = `${key.slice(0, 5)}***${key.slice(-7)}`
  switch (mode) {
    case "401":
      return google
        ? send(400, {
          error: {
            code: 400,
            message: `API key not valid: ${key}. Please pass a valid API key.`,
            status: "INVALID_ARGUMENT",
            details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID", metadata: { key } }]
          }
        })
        : send(401, { error: { message: `Incorrect API key provided: ${key}. You can find your API key at https://gateway.example/keys.`, type: "invalid_request_error", param: null, code: "invalid_api_key" } })
    case "masked":
      return send(401, { error: { message: `Incorrect API key provided: ${masked}. You can find your API key at https://gateway.example/keys.`, type: "invalid_request_error", param: null, code: "invalid_api_key" } })
    case "400":
      return google
        ? send(400, { error: { code: 400, message: `Invalid JSON payload received. Unknown name "${key}": Cannot find field.`, status: "INVALID_ARGUMENT" } })
        : send(400, { error: { message: `Invalid value '${key}' for header 'authorization': malformed key.`, type: "invalid_request_error", param: key, code: "invalid_value" } })
    case "503":
      return google
        ? send(503, { error: { code: 503, message: `The model is overloaded (key ${key}, ${encodeURIComponent(key)}). Please try again later.`, status: "UNAVAILABLE" } })
        : send(503, { error: { message: `This model is currently experiencing high demand (key ${key}, ${encodeURIComponent(key)}).`, code: "upstream_error", status: 503 } })
    default:
      return send(401, { error: { message: `The request to https://upstream.example/v1/generate?key=${encodeURIComponent(key)} was rejected.`, type: "invalid_request_error", param: null, code: "invalid_api_key" } })
  }
})

/** The simulator (no latency, no random faults) with the fake keys as its accepted keys. */
const startSim = Simulator.make(testConfig({ apiKeys: [SK_KEY, GW_KEY] }))

type Entry = {
  readonly model: string
  readonly provider: "openai-compatible" | "gemini"
  readonly baseUrl: string
  readonly apiKeyEnv: keyof typeof ENV
  readonly price?: number
}

const dir = mkdtempSync(join(tmpdir(), "ear-secrets-"))
let files = 0
const configFile = (lists: Partial<Record<"text" | "image" | "video", ReadonlyArray<Entry>>>, extra: Record<string, unknown> = {}) => {
  const path = join(dir, `models-${++files}.json`)
  writeFileSync(path, JSON.stringify({ ...lists, retry: { maxAttempts: 2, base: "10 millis" }, ...extra }))
  return path
}

const oa = (url: string, model: string, apiKeyEnv: Entry["apiKeyEnv"]): Entry => ({ model, provider: "openai-compatible", baseUrl: `${url}/v1`, apiKeyEnv, price: 0.01 })
const gm = (url: string, model: string, apiKeyEnv: Entry["apiKeyEnv"]): Entry => ({ model, provider: "gemini", baseUrl: url, apiKeyEnv, price: 0.01 })

/** The scenarios each batch command runs: config lists, prompt, expected exit code. */
const scenarios = (echo: string, sim: string, hostile: string) => ({
  text: [
    { name: "served", lists: { text: [oa(sim, "gpt-4.1-mini", "EAR_FAKE_SK_KEY")] }, prompt: "Hello [sim:ok]", code: 0 },
    {
      name: "every model overloaded (echoed keys in the attempts): AllModelsFailed",
      lists: { text: [oa(echo, "echo-503", "EAR_FAKE_GW_KEY"), gm(echo, "echo-503", "EAR_FAKE_SK_KEY"), oa(sim, "gpt-4.1-mini", "EAR_FAKE_SK_KEY"), gm(sim, "gemini-2.5-flash", "EAR_FAKE_GW_KEY")] },
      prompt: "Hello [sim:overloaded]",
      code: 1
    },
    { name: "a 401 that echoes the key: Unauthorized", lists: { text: [oa(echo, "echo-401", "EAR_FAKE_GW_KEY")] }, prompt: "Hello", code: 1 },
    { name: "Google's API_KEY_INVALID quoting the key", lists: { text: [gm(echo, "echo-401", "EAR_FAKE_SK_KEY")] }, prompt: "Hello", code: 1 },
    { name: "the masked echo gw-li***c2e5b8d", lists: { text: [oa(echo, "echo-masked", "EAR_FAKE_GW_KEY")] }, prompt: "Hello", code: 1 },
    { name: "a bad request whose param is the key", lists: { text: [oa(echo, "echo-400", "EAR_FAKE_GW_KEY"), gm(echo, "echo-400", "EAR_FAKE_SK_KEY")] }, prompt: "Hello", code: 1 },
    { name: "the key URL-encoded in the message", lists: { text: [oa(echo, "echo-urlenc", "EAR_FAKE_B64_KEY")] }, prompt: "Hello", code: 1 },
    { name: "the simulator's masked echo of a wrong key", lists: { text: [oa(sim, "gpt-4.1-mini", "EAR_FAKE_WRONG_KEY")] }, prompt: "Hello [sim:ok]", code: 1 },
    {
      name: "a key with blanks around it, echoed bare and masked",
      lists: { text: [oa(echo, "echo-503", "EAR_FAKE_PADDED_KEY"), gm(echo, "echo-masked", "EAR_FAKE_PADDED_KEY")] },
      prompt: "Hello",
      code: 1
    },
    {
      name: "a key with its trailing newline (no header can carry it)",
      lists: { text: [oa(echo, "echo-401", "EAR_FAKE_NEWLINE_KEY"), gm(echo, "echo-401", "EAR_FAKE_NEWLINE_KEY")] },
      prompt: "Hello",
      code: 1
    },
    {
      name: "a hang past the deadline: DeadlineExceeded",
      lists: { text: [oa(sim, "gpt-4.1-mini", "EAR_FAKE_SK_KEY")] },
      extra: { fallback: { deadline: "300 millis" } },
      prompt: "Hello [sim:hang]",
      code: 1
    },
    ...hostileScenarios(hostile, "text")
  ],
  image: [
    { name: "served", lists: { image: [oa(sim, "gpt-image-1.5", "EAR_FAKE_SK_KEY")] }, prompt: "A kite [sim:ok]", code: 0 },
    {
      name: "every model overloaded: AllModelsFailed",
      lists: { image: [oa(echo, "echo-503", "EAR_FAKE_GW_KEY"), oa(sim, "flux-2-pro", "EAR_FAKE_SK_KEY"), gm(sim, "gemini-2.5-flash-image", "EAR_FAKE_GW_KEY")] },
      prompt: "A kite [sim:overloaded]",
      code: 1
    },
    { name: "a 401 that echoes the key", lists: { image: [oa(echo, "echo-401", "EAR_FAKE_GW_KEY")] }, prompt: "A kite", code: 1 },
    { name: "a bad request whose param is the key", lists: { image: [oa(echo, "echo-400", "EAR_FAKE_B64_KEY")] }, prompt: "A kite", code: 1 },
    { name: "the simulator's masked echo of a wrong key", lists: { image: [oa(sim, "gpt-image-1.5", "EAR_FAKE_WRONG_KEY")] }, prompt: "A kite [sim:ok]", code: 1 },
    ...hostileScenarios(hostile, "image")
  ],
  video: [
    {
      name: "every model overloaded: VideoJobFailed",
      lists: { video: [oa(echo, "echo-503", "EAR_FAKE_GW_KEY"), oa(sim, "sora-2", "EAR_FAKE_SK_KEY")] },
      prompt: "A kite [sim:overloaded]",
      code: 1
    },
    { name: "a 401 that echoes the key", lists: { video: [oa(echo, "echo-401", "EAR_FAKE_GW_KEY")] }, prompt: "A kite", code: 1 },
    { name: "a bad request whose param is the key", lists: { video: [oa(echo, "echo-400", "EAR_FAKE_B64_KEY")] }, prompt: "A kite", code: 1 },
    { name: "the simulator's masked echo of a wrong key", lists: { video: [oa(sim, "sora-2", "EAR_FAKE_WRONG_KEY")] }, prompt: "A kite [sim:ok]", code: 1 },
    ...hostileScenarios(hostile, "video")
  ]
})

/**
 * The hostile provider's scenarios for one command, for every spelling it
 * echoes keys in (escaped, upper-cased, a piece, base64, percent-encoded, HTML
 * references, …): errors quoting it in every field and in `x-request-id` on
 * both wire formats (overloaded first, so the attempts quote it too), and
 * answers served with it in their headers and text.
 */
const hostileScenarios = (url: string, command: "text" | "image" | "video") =>
  ENCODING_NAMES.flatMap((encoding, i) => {
    const key = i % 2 === 0 ? "EAR_FAKE_GW_KEY" : "EAR_FAKE_B64_KEY"
    const other = "EAR_FAKE_SK_KEY"
    const prompt = command === "text" ? "Hello" : "A kite"
    if (command === "video") {
      return [
        { name: `hostile ${encoding}: overloaded, then rejected`, lists: { video: [oa(url, `hostile-${encoding}-503`, key), oa(url, `hostile-${encoding}`, other)] }, prompt, code: 1 },
        { name: `hostile ${encoding}: accepted as failed, quoting the key`, lists: { video: [oa(url, `hostile-${encoding}-ok`, key)] }, prompt, code: 1 }
      ]
    }
    return [
      {
        name: `hostile ${encoding}: overloaded on both wire formats, then rejected`,
        lists: { [command]: [oa(url, `hostile-${encoding}-503`, key), gm(url, `hostile-${encoding}-503`, other), gm(url, `hostile-${encoding}`, key), oa(url, `hostile-${encoding}`, other)] },
        prompt,
        code: 1
      },
      { name: `hostile ${encoding}: Gemini overloaded, OpenAI-compatible serves`, lists: { [command]: [gm(url, `hostile-${encoding}-503`, key), oa(url, `hostile-${encoding}-ok`, other)] }, prompt, code: 0 },
      { name: `hostile ${encoding}: OpenAI-compatible overloaded, Gemini serves`, lists: { [command]: [oa(url, `hostile-${encoding}-503`, other), gm(url, `hostile-${encoding}-ok`, key)] }, prompt, code: 0 }
    ]
  })

const Live = Layer.merge(HttpLive, NodeContext.layer)

// ---------------------------------------------------------------------------
// the batch commands
// ---------------------------------------------------------------------------

describe("SecretsEverywhere: text, image and video commands (stdout, stderr, --log-level debug, exit)", () => {
  // the hostile provider's scenarios (every spelling of every key) are a test of their own, for its time
  const parts = [
    ["", (name: string) => !name.startsWith("hostile "), 20_000],
    [" (the hostile provider: escaped, header, piece and encoded echoes)", (name: string) => name.startsWith("hostile "), 90_000]
  ] as const
  for (const command of ["text", "image", "video"] as const) {
    for (const [part, included, timeout] of parts) {
    const chosen = (all: ReturnType<typeof scenarios>) => all[command].filter((scenario) => included(scenario.name))
    it.live(`${command}: every scenario${part}, as text and as --json, shows no key`, () =>
      Effect.scoped(Effect.gen(function*() {
        const echo = yield* startEcho
        const sim = yield* startSim
        const hostile = yield* startHostile
        const surfaces: Record<string, string> = {}
        const codes: Array<readonly [string, number | string]> = []
        let logLines = 0
        let debugLines = 0
        for (const scenario of chosen(scenarios(echo.url, sim.url, hostile.url))) {
          const path = configFile(scenario.lists, "extra" in scenario ? scenario.extra : {})
          for (const json of [false, true]) {
            const name = `${scenario.name}${json ? " --json" : ""}`
            const cap = capture()
            const exit = yield* runCli(cap, [command, "--config", path, "--prompt", scenario.prompt, ...(json ? ["--json"] : [])])
            codes.push([name, codeOf(exit)])
            Object.assign(surfaces, surfacesOfRun(name, cap, exit))
            logLines += cap.logs.length
            debugLines += cap.logs.filter((l) => l.includes("level=DEBUG")).length
            if (scenario.code !== 0) expect(cap.err.join("\n") + cap.out.join("\n"), name).toMatch(/error: /)
          }
        }
        expect(codes).toEqual(chosen(scenarios(echo.url, sim.url, hostile.url)).flatMap((s) => [[s.name, s.code], [`${s.name} --json`, s.code]]))
        // the echo server did answer, and --log-level debug let the attempt log through
        expect(echo.received() + hostile.received()).toBeGreaterThan(0)
        expect(logLines).toBeGreaterThan(0)
        expect(debugLines).toBeGreaterThan(0)
        // the echoed keys reached the client and were scrubbed, not dropped before anything was shown
        expect(Object.values(surfaces).some((text) => text.includes("[REDACTED]"))).toBe(true)
        expect(leaksBySurface(surfaces)).toEqual({})
        // every key went out exactly as configured, without the blanks or line break around it
        expect([...echo.keys, ...hostile.keys].filter((key) => !CONFIG_KEYS.includes(key))).toEqual([])
      })).pipe(Effect.provide(Live)), timeout)
    }
  }
})

// ---------------------------------------------------------------------------
// failures of the resilient client, however they are rendered
// ---------------------------------------------------------------------------

const surfacesOfFailure = (name: string, failure: unknown): Record<string, string> => {
  const f = failure as { toString(): string; stack?: string; message?: string }
  const out: Record<string, string> = {
    [`${name}: String`]: String(failure),
    [`${name}: toString`]: f.toString(),
    [`${name}: JSON.stringify`]: JSON.stringify(failure),
    [`${name}: message`]: f.message ?? "",
    [`${name}: stack`]: f.stack ?? "",
    [`${name}: inspect`]: inspect(failure, { depth: 12 }),
    [`${name}: Cause.pretty`]: Cause.pretty(Cause.fail(failure)),
    [`${name}: Cause.pretty(die)`]: Cause.pretty(Cause.die(failure))
  }
  if (isGenerationFailure(failure)) out[`${name}: Schema encode`] = JSON.stringify(Schema.encodeSync(GenerationFailureSchema)(failure))
  const attempts = (failure as { attempts?: ReadonlyArray<{ failure?: unknown }> }).attempts ?? []
  attempts.forEach((a, i) => {
    if (a.failure !== undefined) {
      out[`${name}: attempts[${i}].failure String`] = String(a.failure)
      out[`${name}: attempts[${i}].failure inspect`] = inspect(a.failure, { depth: 12 })
    }
  })
  return out
}

describe("SecretsEverywhere: failures of the resilient client built from a config file", () => {
  const failureLogs = capture()
  it.live("AllModelsFailed (echoed keys in its attempts), DeadlineExceeded, Unauthorized, BadRequest and VideoJobFailed render no key", () =>
    Effect.scoped(Effect.gen(function*() {
      const echo = yield* startEcho
      const sim = yield* startSim
      const hostile = yield* startHostile
      const s = scenarios(echo.url, sim.url, hostile.url)
      const ask = (prompt: string) => ({ messages: [Message.make({ role: "user", content: prompt })] as const })
      const failureOf = (lists: Parameters<typeof configFile>[0], extra: Record<string, unknown>, call: (client: Effect.Effect.Success<ReturnType<typeof clientFromFile>>) => Effect.Effect<unknown, unknown>) =>
        Effect.gen(function*() {
          const client = yield* clientFromFile(configFile(lists, extra))
          const exit = yield* Effect.exit(call(client))
          if (Exit.isSuccess(exit) || exit.cause._tag !== "Fail") throw new Error(`expected a typed failure, got ${Exit.isSuccess(exit) ? "a success" : Cause.pretty(exit.cause)}`)
          return exit.cause.error as { readonly _tag: string; readonly reason?: string; readonly attempts?: ReadonlyArray<{ readonly message?: string }> }
        })

      const all = yield* failureOf(s.text[1]!.lists, {}, (c) => c.generateText(ask("Hello [sim:overloaded]")))
      expect(all._tag).toBe("AllModelsFailed")
      // the attempts hold the providers' words (keys scrubbed)
      expect(all.attempts!.some((a) => a.message?.includes("high demand"))).toBe(true)
      const deadline = yield* failureOf(s.text[10]!.lists, { fallback: { deadline: "300 millis" } }, (c) => c.generateText(ask("Hello [sim:hang]")))
      expect(deadline._tag).toBe("DeadlineExceeded")
      const unauthorized = yield* failureOf(s.text[2]!.lists, {}, (c) => c.generateText(ask("Hello")))
      expect([unauthorized._tag, unauthorized.reason]).toEqual(["HardFailure", "Unauthorized"])
      const google = yield* failureOf(s.text[3]!.lists, {}, (c) => c.generateText(ask("Hello")))
      expect([google._tag, google.reason]).toEqual(["HardFailure", "Unauthorized"])
      const badRequest = yield* failureOf(s.text[5]!.lists, {}, (c) => c.generateText(ask("Hello")))
      expect([badRequest._tag, badRequest.reason]).toEqual(["HardFailure", "BadRequest"])
      const imageAll = yield* failureOf(s.image[1]!.lists, {}, (c) => c.generateImage({ prompt: "A kite [sim:overloaded]" }))
      expect(imageAll._tag).toBe("AllModelsFailed")
      const video = yield* failureOf(s.video[0]!.lists, {}, (c) => c.generateVideo({ prompt: "A kite [sim:overloaded]" }))
      expect(video._tag).toBe("VideoJobFailed")
      // every spelling of the hostile provider, in the attempts of one AllModelsFailed
      const hostileAll = yield* failureOf({ text: ENCODING_NAMES.flatMap((e) => [oa(hostile.url, `hostile-${e}-503`, "EAR_FAKE_GW_KEY"), gm(hostile.url, `hostile-${e}-503`, "EAR_FAKE_B64_KEY")]) }, {}, (c) => c.generateText(ask("Hello")))
      expect(hostileAll._tag).toBe("AllModelsFailed")
      // each model was tried (and retried): every spelling reached the attempts
      expect(hostileAll.attempts!.length).toBeGreaterThanOrEqual(2 * ENCODING_NAMES.length)

      const surfaces = {
        ...Object.fromEntries(failureLogs.logs.map((line, i) => [`log line ${i}`, line])),
        ...surfacesOfFailure("AllModelsFailed", all),
        ...surfacesOfFailure("DeadlineExceeded", deadline),
        ...surfacesOfFailure("Unauthorized", unauthorized),
        ...surfacesOfFailure("Unauthorized (Google)", google),
        ...surfacesOfFailure("BadRequest", badRequest),
        ...surfacesOfFailure("AllModelsFailed (image)", imageAll),
        ...surfacesOfFailure("VideoJobFailed", video),
        ...surfacesOfFailure("AllModelsFailed (hostile provider)", hostileAll)
      }
      expect(failureLogs.logs.length).toBeGreaterThan(0)
      expect(leaksBySurface(surfaces)).toEqual({})
    })).pipe(
      Effect.provide(Logger.replace(Logger.defaultLogger, failureLogs.logger)),
      Logger.withMinimumLogLevel(LogLevel.All),
      Effect.provide(Live)
    ), 20_000)
})

// ---------------------------------------------------------------------------
// status: the command's output, /status, the first SSE event, the page
// ---------------------------------------------------------------------------

const get = (url: string) =>
  Effect.promise(async () => {
    const response = await fetch(url)
    const headers: Array<string> = []
    response.headers.forEach((value, name) => { headers.push(`${name}: ${value}`) })
    return `${response.status} ${headers.join("\n")}\n${await response.text()}`
  })

/** The first server-sent event of `url`, then the stream is dropped. */
const firstEvent = (url: string) =>
  Effect.promise(async () => {
    const abort = new AbortController()
    const response = await fetch(url, { signal: abort.signal })
    const reader = response.body!.getReader()
    let text = ""
    while (!text.includes("\n\n")) {
      const { done, value } = await reader.read()
      if (done) break
      text += new TextDecoder().decode(value)
    }
    abort.abort()
    return text
  })

/** A real-time pause (works under TestClock too). */
const realSleep = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

/** Poll `check` until it is true (real time), at most `ms`; `step` runs between two checks. */
const waitFor = (check: () => boolean, ms = 5_000, step: Effect.Effect<void> = Effect.void) =>
  Effect.gen(function*() {
    const until = Date.now() + ms
    while (!check() && Date.now() < until) {
      yield* realSleep(10)
      yield* step
    }
  })

describe("SecretsEverywhere: status", () => {
  it.scoped("status: stdout, stderr, logs, GET /status, the first event of /status/events and the page show no key after failed probes", () =>
    Effect.gen(function*() {
      const echo = yield* startEcho
      const sim = yield* startSim
      const hostile = yield* startHostile
      const hostileText = ENCODING_NAMES.map((e, i) => (i % 2 === 0 ? oa : gm)(hostile.url, `hostile-${e}${i % 3 === 0 ? "-503" : ""}`, "EAR_FAKE_GW_KEY"))
      const hostileImage = ENCODING_NAMES.map((e, i) => (i % 2 === 0 ? gm : oa)(hostile.url, `hostile-${e}${i % 3 === 1 ? "-ok" : ""}`, "EAR_FAKE_B64_KEY"))
      const path = configFile({
        text: [oa(echo.url, "echo-401", "EAR_FAKE_GW_KEY"), oa(sim.url, "gpt-4.1-mini", "EAR_FAKE_WRONG_KEY"), gm(echo.url, "echo-503", "EAR_FAKE_SK_KEY"), ...hostileText],
        image: [oa(echo.url, "echo-400", "EAR_FAKE_B64_KEY"), oa(echo.url, "echo-masked", "EAR_FAKE_GW_KEY"), ...hostileImage]
      })
      const cap = capture()
      const fiber = yield* Effect.fork(runCli(cap, ["status", "--config", path, "--port", "0", "--probe-interval", "10"]))
      yield* waitFor(() => cap.out.some((l) => l.startsWith("status page: ")))
      const url = /status page: (http:\/\/\S+?)\/\s/.exec(cap.out.join("\n"))?.[1]
      expect(url, cap.out.join("\n") + cap.err.join("\n")).toBeDefined()
      // the first probes go out one interval after the start: move the clock, let them run
      yield* TestClock.adjust("10 seconds")
      // every model was probed (the echo server got its four, the simulator answered the wrong key)
      yield* waitFor(() => echo.received() >= 4 && hostile.received() >= 2 * ENCODING_NAMES.length, 5_000, TestClock.adjust("10 millis"))
      for (let i = 0; i < 20; i++) {
        yield* realSleep(5)
        yield* TestClock.adjust("10 millis")
      }
      const status = yield* get(`${url}/status`)
      const event = yield* firstEvent(`${url}/status/events`)
      const page = yield* get(`${url}/`)
      expect(status).toContain("echo-401")
      expect(event).toMatch(/^data: \{/)
      expect(page).toContain("<!doctype html>")
      yield* Fiber.interrupt(fiber)
      expect(echo.received()).toBeGreaterThanOrEqual(4)
      expect(hostile.received()).toBeGreaterThanOrEqual(2 * ENCODING_NAMES.length)
      expect(status).toContain("hostile-json")
      expect(cap.logs.length).toBeGreaterThan(0)
      expect(leaksBySurface({
        stdout: cap.out.join("\n"),
        stderr: cap.err.join("\n"),
        ...Object.fromEntries(cap.logs.map((line, i) => [`log line ${i}`, line])),
        "GET /status": status,
        "GET /status/events (first event)": event,
        "GET /": page
      })).toEqual({})
    }).pipe(Effect.provide(Live)), 20_000)
})

// ---------------------------------------------------------------------------
// demo, walkthrough, simulate (their keys are built in: DEMO_KEY, the walkthrough's wrong key)
// ---------------------------------------------------------------------------

describe("SecretsEverywhere: demo, walkthrough, simulate", () => {
  it.live("demo --json and demo (text) show neither built-in key; nor does the demo's status page (--hold)", () =>
    Effect.gen(function*() {
      const surfaces: Record<string, string> = {}
      const json = capture()
      const jsonExit = yield* runCli(json, ["demo", "--json", "--requests", "30"])
      expect(JSON.parse(json.out.join("\n")).requests).toBe(30)
      Object.assign(surfaces, surfacesOfRun("demo --json", json, jsonExit))

      const held = capture()
      const fiber = yield* Effect.fork(runCli(held, ["demo", "--requests", "30", "--hold"]))
      yield* waitFor(() => held.err.some((l) => l.includes("holding:")), 15_000)
      const url = /status page stays at (http:\/\/\S+?)\/ /.exec(held.err.join("\n"))?.[1]
      expect(url, held.err.join("\n")).toBeDefined()
      surfaces["demo: GET /status"] = yield* get(`${url}/status`)
      surfaces["demo: GET /status/events"] = yield* firstEvent(`${url}/status/events`)
      surfaces["demo: GET /"] = yield* get(`${url}/`)
      yield* Fiber.interrupt(fiber)
      expect(held.out.join("\n")).toContain("requests")
      Object.assign(surfaces, surfacesOfRun("demo", held, Exit.succeed(0)))
      expect(leaksBySurface(surfaces)).toEqual({})
    }).pipe(Effect.provide(Live)), 20_000)

  it.scoped("walkthrough and walkthrough --json (a wrong key among the steps) show neither built-in key", () =>
    Effect.gen(function*() {
      const surfaces: Record<string, string> = {}
      for (const args of [["walkthrough"], ["walkthrough", "--json"]]) {
        const cap = capture()
        const exit = yield* settle(runCli(cap, args), "20 millis", 20_000)
        expect(codeOf(exit), cap.err.join("\n")).toBe(0)
        Object.assign(surfaces, surfacesOfRun(args.join(" "), cap, exit))
      }
      expect(surfaces["walkthrough: stdout"]).toContain("Wrong API key")
      expect(leaksBySurface(surfaces)).toEqual({})
    }).pipe(Effect.provide(Live)), 20_000)

  it.live("simulate with the fake keys as its accepted keys prints none of them", () =>
    Effect.gen(function*() {
      const path = join(dir, "sim.json")
      writeFileSync(path, JSON.stringify({ apiKeys: CONFIG_KEYS, models: [{ id: "gpt-4.1-mini", vendor: "openai", kind: "text" }] }))
      const cap = capture()
      const fiber = yield* Effect.fork(runCli(cap, ["simulate", "--config", path, "--port", "0"]))
      yield* waitFor(() => cap.out.some((l) => l.includes("Ctrl-C")))
      yield* Fiber.interrupt(fiber)
      expect(cap.out.join("\n")).toContain("provider simulator listening on")
      expect(leaksBySurface(surfacesOfRun("simulate", cap, Exit.succeed(0)))).toEqual({})
    }).pipe(Effect.provide(Live)), 20_000)
})

// ---------------------------------------------------------------------------
// a known leak outside the CLI's files: src/ClientConfig.ts
// ---------------------------------------------------------------------------

describe("SecretsEverywhere: a key pasted into the config file instead of its variable's name", () => {
  // The config error names the field, never the value: a key written where the variable's name goes
  // must not be printed on stderr (exit 2), whether or not it is shaped like a variable name.
  for (const [what, pasted] of [["not a variable name", GW_KEY], ["shaped like a variable name", "AIzaSyDSECRET7f3a9c2e5b8dQ4"]] as const) {
    it(`a key pasted in place of its variable's name (${what}) is refused without being quoted`, () =>
      Effect.runPromise(Effect.gen(function*() {
        const path = join(dir, `pasted-${pasted.length}.json`)
        writeFileSync(path, JSON.stringify({ text: [{ model: "gpt-4.1-mini", provider: "openai-compatible", baseUrl: "http://127.0.0.1:9/v1", apiKeyEnv: pasted }] }))
        const cap = capture()
        const exit = yield* runCli(cap, ["text", "--config", path, "--prompt", "Hello"])
        expect(codeOf(exit)).toBe(2)
        expect(leaksBySurface(surfacesOfRun("pasted key", cap, exit), [...ALL_KEYS, pasted])).toEqual({})
      })))
  }
})

describe("SecretsEverywhere: keys are read trimmed, and bad key variables are still reported", () => {
  it.effect("a blank-only variable is 'empty' and an unset one 'not set' (exit 2), naming neither value", () =>
    Effect.gen(function*() {
      process.env["EAR_FAKE_BLANK_KEY"] = " \t\n"
      const path = join(dir, "blank.json")
      writeFileSync(path, JSON.stringify({
        text: [
          { model: "gpt-4.1-mini", provider: "openai-compatible", baseUrl: "http://127.0.0.1:9/v1", apiKeyEnv: "EAR_FAKE_GW_KEY" },
          { model: "gemini-2.5-flash", provider: "gemini", baseUrl: "http://127.0.0.1:9", apiKeyEnv: "EAR_FAKE_BLANK_KEY" }
        ]
      }))
      const blank = capture()
      expect(codeOf(yield* runCli(blank, ["text", "--config", path, "--prompt", "Hello"]))).toBe(2)
      expect(blank.err.join("\n")).toContain("text[1].apiKeyEnv: environment variable EAR_FAKE_BLANK_KEY is empty")
      delete process.env["EAR_FAKE_BLANK_KEY"]
      const unset = capture()
      expect(codeOf(yield* runCli(unset, ["text", "--config", path, "--prompt", "Hello"]))).toBe(2)
      expect(unset.err.join("\n")).toContain("text[1].apiKeyEnv: environment variable EAR_FAKE_BLANK_KEY is not set")
      expect(leaksBySurface({ blank: [...blank.out, ...blank.err].join("\n"), unset: [...unset.out, ...unset.err].join("\n") })).toEqual({})
    }))
})
