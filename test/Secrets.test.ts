/**
 * The API key never appears anywhere a person or a system could see it:
 * tracing spans (attributes, events, links, exits), failures however they are
 * rendered (String, JSON, stack, Schema encoding, raw body, inspect, Cause),
 * and logs. Real HTTP on loopback: the simulator, and fixed servers that echo
 * the key back the ways real providers and gateways do.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, FastCheck as fc, Logger, LogLevel, Redacted, Schema, Tracer } from "effect"
import { inspect } from "node:util"
import { classifyResponse, scrubSecrets } from "../src/Classification.js"
import { type GenerationFailure, GenerationFailure as GenerationFailureSchema } from "../src/Failure.js"
import * as Gemini from "../src/Gemini.js"
import { ImageRequest } from "../src/ImageGeneration.js"
import * as OpenAICompatible from "../src/OpenAICompatible.js"
import { Message, TextRequest } from "../src/TextGeneration.js"
import { ENCODING_NAMES, ENCODINGS, spelledPiece, startHostile } from "./support/hostileProvider.js"
import { HttpLive, KEY, serveFixed, startSimulator } from "./support/simulator.js"
import { leaksBySurface, leaksIn, renderLogLine, show } from "./support/leaks.js"
import { VideoRequest } from "../src/VideoGeneration.js"

/** The masked echo built from the key's head and tail, e.g. `gw-li***1c3e`. */
const masked = (key: string): string => `${key.slice(0, 5)}***${key.slice(-4)}`

// ---------------------------------------------------------------------------
// keys and what counts as a leak
// ---------------------------------------------------------------------------

/** A gateway key that does not look like `sk-…` or `AIza…`: only the exact value can find it. */
const GW_KEY = "gw-live-7f3a9c2e5b8d4a1f6e0b1c3e"
/** An OpenAI-style project key. */
const SK_KEY = "sk-proj-Zq4T8mW2xN6vB1cR9kL3pH7s"
/** A key with characters that URL-encoding and JSON escaping change. */
const B64_KEY = "gw-b64-Qk7Zp2+Rm9Xw4/Tn8Hc5=Vb3Lm1"

/** Every way a failure gets shown to a person or stored by a system. */
const surfacesOf = (failure: GenerationFailure): Record<string, string> => ({
  "String(failure)": String(failure),
  "JSON.stringify(failure)": JSON.stringify(failure),
  "failure.stack": failure.stack ?? "",
  "Schema.encodeSync(GenerationFailure)": JSON.stringify(Schema.encodeSync(GenerationFailureSchema)(failure)),
  "failure.rawBody": failure.rawBody ?? "",
  "failure.message": failure.message,
  "util.inspect(failure)": inspect(failure, { depth: 10 }),
  "Cause.pretty": Cause.pretty(Cause.fail(failure))
})

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error(`expected a failure, got ${JSON.stringify(exit.value)}`)
  if (exit.cause._tag !== "Fail") throw new Error(`expected a typed failure, got ${String(exit.cause)}`)
  return exit.cause.error
}

const ask = (model: string, prompt: string) => TextRequest.make({ model, messages: [Message.make({ role: "user", content: prompt })] })

type Adapter = "openai-compatible" | "gemini"

/** The text call of an adapter built with `key` against `url`. */
const callWith = (adapter: Adapter, url: string, key: string, prompt = "Hello") =>
  Effect.gen(function*() {
    const apiKey = Redacted.make(key)
    // options are valid here: a rejection would be a bug in the test
    const provider = adapter === "gemini"
      ? yield* Effect.orDie(Gemini.make({ baseUrl: url, apiKey, timeout: "30 seconds" }))
      : yield* Effect.orDie(OpenAICompatible.make({ name: "gateway", baseUrl: url, apiKey, timeout: "30 seconds" }))
    return yield* provider.generateText(ask(adapter === "gemini" ? "gemini-2.5-flash" : "gpt-4.1-mini", prompt))
  })

// ---------------------------------------------------------------------------
// bodies that echo the key
// ---------------------------------------------------------------------------

/** Filler text of exactly `n` characters, single-spaced (so whitespace squashing keeps positions). */
const filler = (n: number): string => "the upstream provider rejected the credentials of this request ".repeat(Math.ceil(n / 64) + 1).slice(0, n)

/** `before` + filler + key + `after`, with the key straddling character `at` of the text that starts after `before`. */
const straddle = (before: string, key: string, at: number, after: string): string =>
  `${before}${filler(at - Math.floor(key.length / 2))}${key}${after}`

interface Echo {
  readonly name: string
  readonly key: string
  readonly status: number
  readonly contentType: string
  readonly body: string
}

const openaiError = (message: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ error: { message, type: "invalid_request_error", param: null, code: "invalid_api_key", ...extra } })

const ECHOES: ReadonlyArray<Echo> = [
  {
    name: "the full key in the message",
    key: GW_KEY,
    status: 401,
    contentType: "application/json",
    body: openaiError(`Incorrect API key provided: ${GW_KEY}. You can find your API key at https://gateway.example/keys.`)
  },
  {
    name: "an sk- key in the message",
    key: SK_KEY,
    status: 401,
    contentType: "application/json",
    body: openaiError(`Incorrect API key provided: ${SK_KEY}.`)
  },
  {
    name: "param equal to the key",
    key: GW_KEY,
    status: 400,
    contentType: "application/json",
    body: openaiError("Invalid value for the API key header.", { param: GW_KEY, code: "invalid_value" })
  },
  {
    name: "the masked echo gw-li***1c3e",
    key: GW_KEY,
    status: 401,
    contentType: "application/json",
    body: openaiError(`Incorrect API key provided: ${masked(GW_KEY)}. You can find your API key at https://gateway.example/keys.`)
  },
  {
    name: "the key URL-encoded in the message",
    key: B64_KEY,
    status: 401,
    contentType: "application/json",
    body: openaiError(`The request to https://upstream.example/v1/generate?key=${encodeURIComponent(B64_KEY)} was rejected.`)
  },
  {
    name: "the key JSON-escaped (\\/) in the body",
    key: B64_KEY,
    status: 401,
    contentType: "application/json",
    // PHP-style encoders write "/" as "\/": the body holds the key in escaped form only
    body: `{"error":{"message":"Incorrect API key provided: ${B64_KEY.replaceAll("/", "\\/")}.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`
  },
  {
    name: "a Google error quoting the key",
    key: GW_KEY,
    status: 400,
    contentType: "application/json",
    body: JSON.stringify({
      error: {
        code: 400,
        message: `API key not valid: ${GW_KEY}. Please pass a valid API key.`,
        status: "INVALID_ARGUMENT",
        details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID", metadata: { key: GW_KEY } }]
      }
    })
  },
  {
    name: "a 200 error envelope quoting the key",
    key: GW_KEY,
    status: 200,
    contentType: "application/json",
    body: JSON.stringify({ error: { code: 401, message: `Upstream rejected the API key ${GW_KEY}` } })
  },
  {
    name: "a 200 of unexpected shape carrying the key",
    key: GW_KEY,
    status: 200,
    contentType: "application/json",
    body: JSON.stringify({ choices: GW_KEY, candidates: GW_KEY })
  },
  {
    name: "a malformed 200 with the key straddling position 120",
    key: GW_KEY,
    status: 200,
    contentType: "application/json",
    // cut off mid-string: not JSON
    body: straddle("", GW_KEY, 120, " and the rest of a long message that never ends").replace(/^.{10}/, "{\"error\":\"")
  },
  {
    name: "an unparseable 400 with the key straddling position 200",
    key: GW_KEY,
    status: 400,
    contentType: "application/json",
    body: straddle("", GW_KEY, 200, " and the rest of a long message that never ends").replace(/^.{10}/, "{\"error\":\"")
  },
  {
    name: "an HTML 502 whose title has the key straddling position 200",
    key: GW_KEY,
    status: 502,
    contentType: "text/html",
    body: straddle("<html><head><title>", GW_KEY, 200, " bad gateway</title></head><body>502</body></html>")
  },
  {
    name: "a plain-text 400 with the key straddling position 300",
    key: GW_KEY,
    status: 400,
    contentType: "text/plain",
    body: straddle("", GW_KEY, 300, " is not a valid key for this gateway, please check your settings")
  },
  {
    name: "a JSON 401 whose message has the key straddling position 4096 (the raw-body limit)",
    key: GW_KEY,
    status: 401,
    contentType: "application/json",
    body: straddle("{\"error\":{\"message\":\"", GW_KEY, 4096 - "{\"error\":{\"message\":\"".length, " and more\",\"code\":\"invalid_api_key\"}}")
  }
]

const CASES = ECHOES.flatMap((echo) => (["openai-compatible", "gemini"] as const).map((adapter) => [echo.name, adapter, echo] as const))

describe("Secrets: fixtures", () => {
  it("each straddling key really straddles its position", () => {
    const at = (echo: Echo, offset: number, position: number) => {
      const start = echo.body.indexOf(echo.key) - offset
      expect(start).toBeLessThan(position)
      expect(start + echo.key.length).toBeGreaterThan(position)
    }
    const byName = (prefix: string) => ECHOES.find((e) => e.name.startsWith(prefix))!
    at(byName("a malformed 200"), 0, 120)
    at(byName("an unparseable 400"), 0, 200)
    at(byName("an HTML 502"), "<html><head><title>".length, 200)
    at(byName("a plain-text 400"), 0, 300)
    at(byName("a JSON 401 whose message"), 0, 4096)
    expect(() => JSON.parse(byName("a malformed 200").body)).toThrow()
    expect(JSON.parse(ECHOES.find((e) => e.name.includes("JSON-escaped"))!.body).error.message).toContain(B64_KEY)
  })
})

describe("Secrets: a key echoed by the provider is in no rendering of the failure", () => {
  it.scoped.each(CASES)("%s (%s)", ([, adapter, echo]) =>
    Effect.gen(function*() {
      const server = yield* serveFixed(echo.status, { "content-type": echo.contentType }, echo.body)
      const failure = failureOf(yield* Effect.exit(callWith(adapter, server.url, echo.key)))
      // the fixed answer was received and turned into a failure of that response
      expect(failure.status).toBe(echo.status)
      expect((yield* server.received)).toHaveLength(1)
      expect(leaksBySurface(surfacesOf(failure), [echo.key])).toEqual({})
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("scrubbing keeps the provider's words around the key", () =>
    Effect.gen(function*() {
      const server = yield* serveFixed(401, { "content-type": "application/json" }, ECHOES[0]!.body)
      const failure = failureOf(yield* Effect.exit(callWith("openai-compatible", server.url, GW_KEY)))
      expect(failure.reason).toBe("Unauthorized")
      expect(failure.message).toContain("Incorrect API key provided:")
      expect(failure.message).toContain("You can find your API key at https://gateway.example/keys.")
    }).pipe(Effect.provide(HttpLive)))
})

// ---------------------------------------------------------------------------
// tracing
// ---------------------------------------------------------------------------

interface RecordedSpan {
  readonly name: string
  readonly attributes: Map<string, unknown>
  readonly events: Array<{ readonly name: string; readonly attributes: Record<string, unknown> }>
  readonly links: Array<Tracer.SpanLink>
  exit: Exit.Exit<unknown, unknown> | undefined
}

/** A tracer that keeps every span with its attributes, events, links and exit. */
const recordingTracer = () => {
  const spans: Array<RecordedSpan> = []
  let counter = 0
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind, options) => {
      const record: RecordedSpan = { name, attributes: new Map(), events: [], links: [...links], exit: undefined }
      for (const [k, v] of Object.entries(options?.attributes ?? {})) record.attributes.set(k, v)
      spans.push(record)
      const spanId = (++counter).toString(16).padStart(16, "0")
      let status: Tracer.SpanStatus = { _tag: "Started", startTime }
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId,
        traceId: parent._tag === "Some" ? parent.value.traceId : "0".repeat(31) + "1",
        parent,
        context,
        get status() {
          return status
        },
        attributes: record.attributes,
        links: record.links,
        sampled: true,
        kind,
        end: (endTime, exit) => {
          status = { _tag: "Ended", startTime, endTime, exit }
          record.exit = exit
        },
        attribute: (key, value) => {
          record.attributes.set(key, value)
        },
        event: (eventName, _startTime, attributes) => {
          record.events.push({ name: eventName, attributes: attributes ?? {} })
        },
        addLinks: (more) => {
          record.links.push(...more)
        }
      }
      return span
    },
    context: (f) => f()
  })
  /** One text per span: what an exporter sends (name, attributes, events, links, a failure's cause). */
  const texts = (): Record<string, string> =>
    Object.fromEntries(spans.map((s, i) => [
      `span ${i} ${s.name}`,
      [
        s.name,
        ...[...s.attributes].map(([k, v]) => `${k}=${show(v)}`),
        ...s.events.map((e) => `${e.name} ${show(e.attributes)}`),
        ...s.links.map((l) => show(l.attributes)),
        // what exporters record of a failed span: the rendered cause (message and stack)
        s.exit !== undefined && Exit.isFailure(s.exit) ? Cause.pretty(s.exit.cause) : ""
      ].join("\n")
    ]))
  return { tracer, spans, texts }
}

describe("Secrets: tracing spans", () => {
  it.scoped("Gemini and OpenAI-compatible calls leave the key in no span attribute, event or exit", () =>
    Effect.gen(function*() {
      // the simulator runs outside the recording tracer: only the client's spans are recorded
      const { gemini, openai } = yield* startSimulator()
      const echo = yield* serveFixed(401, { "content-type": "application/json" }, ECHOES[0]!.body)
      const recorder = recordingTracer()
      yield* Effect.gen(function*() {
        yield* gemini.generateText(ask("gemini-2.5-flash", "Say hello [sim:ok]"))
        yield* gemini.generateImage(ImageRequest.make({ model: "gemini-2.5-flash-image", prompt: "A red fox [sim:ok]" }))
        yield* Effect.exit(gemini.generateText(ask("gemini-2.5-flash", "Hi [sim:overloaded]")))
        yield* Effect.exit(gemini.generateText(ask("gemini-2.5-flash", "Hi [sim:connectionReset]")))
        yield* openai.generateText(ask("gpt-4.1-mini", "Say hello [sim:ok]"))
        yield* Effect.exit(openai.generateText(ask("gpt-4.1-mini", "Hi [sim:rateLimited]")))
        yield* Effect.exit(callWith("gemini", echo.url, GW_KEY))
        yield* Effect.exit(callWith("openai-compatible", echo.url, GW_KEY))
      }).pipe(Effect.withTracer(recorder.tracer))

      const names = recorder.spans.map((s) => s.name)
      expect(names).toEqual(expect.arrayContaining(["Gemini.generateText", "Gemini.generateImage", "OpenAICompatible.generateText"]))
      // the HTTP client's own spans were recorded, with request headers as attributes
      const clientSpans = recorder.spans.filter((s) => s.attributes.has("url.full"))
      expect(clientSpans.length).toBeGreaterThanOrEqual(8)
      // the reset connection ended its client span with a failure, whose cause is checked too
      expect(clientSpans.some((s) => s.exit !== undefined && Exit.isFailure(s.exit))).toBe(true)
      expect(clientSpans.every((s) => [...s.attributes.keys()].some((k) => k.startsWith("http.request.header.")))).toBe(true)
      expect(leaksBySurface(recorder.texts(), [KEY, GW_KEY])).toEqual({})
    }).pipe(Effect.provide(HttpLive)))
})

// ---------------------------------------------------------------------------
// logs
// ---------------------------------------------------------------------------

/** A logger that keeps every log line as the stock loggers would render it, with its cause, annotations and spans. */
const recordingLogger = () => {
  const lines: Array<string> = []
  const logger = Logger.make<unknown, void>((options) => {
    lines.push(renderLogLine(options))
  })
  return { logger, lines }
}

describe("Secrets: logs", () => {
  it.scoped("a run that logs every failure (message, object, cause, annotation) at every level logs no key", () =>
    Effect.gen(function*() {
      const { sim } = yield* startSimulator()
      const recorder = recordingLogger()
      const logged = <A, R>(call: Effect.Effect<A, GenerationFailure, R>) =>
        call.pipe(
          Effect.tapError((failure) => Effect.logWarning("generation failed", failure)),
          Effect.tapError((failure) => Effect.annotateLogs(Effect.logDebug("failure detail"), { failure, message: failure.message, rawBody: failure.rawBody })),
          Effect.tapErrorCause((cause) => Effect.logError(cause)),
          Effect.withLogSpan("generate"),
          Effect.exit
        )
      yield* Effect.gen(function*() {
        for (const echo of ECHOES) {
          const server = yield* serveFixed(echo.status, { "content-type": echo.contentType }, echo.body)
          yield* logged(callWith("openai-compatible", server.url, echo.key))
          yield* logged(callWith("gemini", server.url, echo.key))
        }
        // wrong keys against the simulator (OpenAI echoes a masked key) and a normal call
        yield* logged(callWith("openai-compatible", sim.url, GW_KEY))
        yield* logged(callWith("gemini", sim.url, GW_KEY))
        yield* logged(callWith("openai-compatible", sim.url, KEY, "Say hello [sim:ok]"))
        yield* logged(callWith("gemini", sim.url, KEY, "Hi [sim:serverError]"))
      }).pipe(
        Effect.provide(Logger.replace(Logger.defaultLogger, recorder.logger)),
        Logger.withMinimumLogLevel(LogLevel.All)
      )
      // three lines per failed call: the recorder saw every failure
      expect(recorder.lines.length).toBeGreaterThanOrEqual(3 * (2 * ECHOES.length + 3))
      const keys = [...new Set([KEY, GW_KEY, SK_KEY, B64_KEY])]
      const surfaces = Object.fromEntries(recorder.lines.map((line, i) => [`log line ${i}`, line]))
      expect(leaksBySurface(surfaces, keys)).toEqual({})
    }).pipe(Effect.provide(HttpLive)))
})

// ---------------------------------------------------------------------------
// escaped, header, piece and encoded echoes
// ---------------------------------------------------------------------------

/** Every text field of a failure, and its renderings. */
const fieldsOf = (failure: GenerationFailure): Record<string, string> => {
  const record = failure as unknown as Readonly<Record<string, unknown>>
  const out: Record<string, string> = { ...surfacesOf(failure) }
  for (const name of ["message", "param", "code", "requestId", "rawBody", "taskId", "taskStatus", "finishReason", "output", "validator", "model"]) {
    if (typeof record[name] === "string") out[`failure.${name}`] = record[name]
  }
  return out
}

/** `\u` escapes of every character: JSON text that parses back to the key. */
const jsonEscaped = (key: string) => ENCODINGS.json(key)

describe("Secrets: a key JSON-escaped in an error body", () => {
  it("is in no parsed field of the classified failure (message, code, param, request id) nor in the raw body", () => {
    const escaped = jsonEscaped(GW_KEY)
    const body = `{"error":{"message":"Incorrect API key provided: ${escaped}.","type":"${escaped}","param":"${escaped}","code":"${escaped}"},"request_id":"${escaped}"}`
    // the body holds no plain spelling: only parsing reveals the key
    expect(body).not.toContain(GW_KEY)
    expect(JSON.parse(body).error.message).toContain(GW_KEY)
    const failure = classifyResponse({ status: 401, body, provider: "p", model: "m", secrets: [Redacted.make(GW_KEY)] })
    expect(failure.reason).toBe("Unauthorized")
    expect(failure.message).toBe("Incorrect API key provided: [REDACTED].")
    expect([failure.code, failure.param, failure.requestId]).toEqual(["[REDACTED]", "[REDACTED]", "[REDACTED]"])
    expect(leaksBySurface(fieldsOf(failure), [GW_KEY])).toEqual({})
  })

  it("a Google error with the key escaped in its message, status and ErrorInfo metadata", () => {
    const escaped = jsonEscaped(SK_KEY)
    const body = `{"error":{"code":400,"message":"API key not valid: ${escaped}","status":"${escaped}","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","metadata":{"key":"${escaped}"}}]}}`
    const failure = classifyResponse({ status: 400, body, provider: "gemini", model: "m", secrets: [Redacted.make(SK_KEY)] })
    expect(failure.reason).toBe("Unauthorized")
    expect(failure.message).toBe("API key not valid: [REDACTED]")
    expect(leaksBySurface(fieldsOf(failure), [SK_KEY])).toEqual({})
  })
})

describe("Secrets: a key in the x-request-id header", () => {
  it("is scrubbed from the failure's request id (classifyResponse)", () => {
    const failure = classifyResponse({ status: 500, headers: { "x-request-id": `req_${GW_KEY}` }, body: "", secrets: [Redacted.make(GW_KEY)] })
    expect(failure.requestId).toBe("req_[REDACTED]")
  })

  it.scoped.each(["openai-compatible", "gemini"] as const)("is scrubbed from a successful result's request id and from a failure's (%s, over HTTP)", (adapter) =>
    Effect.gen(function*() {
      const ok = yield* serveFixed(200, { "content-type": "application/json", "x-request-id": GW_KEY }, adapter === "gemini"
        ? JSON.stringify({ candidates: [{ content: { role: "model", parts: [{ text: "Hello" }] }, finishReason: "STOP" }] })
        : JSON.stringify({ id: "c", object: "chat.completion", model: "gpt-4.1-mini", choices: [{ index: 0, message: { role: "assistant", content: "Hello" }, finish_reason: "stop" }] }))
      const result = yield* callWith(adapter, ok.url, GW_KEY)
      expect(result.content).toBe("Hello")
      expect(result.requestId).toBe("[REDACTED]")
      const bad = yield* serveFixed(503, { "content-type": "application/json", "x-request-id": GW_KEY }, "{}")
      const failure = failureOf(yield* Effect.exit(callWith(adapter, bad.url, GW_KEY)))
      expect(failure.requestId).toBe("[REDACTED]")
      // a body the adapter cannot decode carries the header's id too
      const odd = yield* serveFixed(200, { "content-type": "application/json", "x-request-id": GW_KEY }, "[1]")
      const undecodable = failureOf(yield* Effect.exit(callWith(adapter, odd.url, GW_KEY)))
      expect(undecodable.requestId).toBe("[REDACTED]")
    }).pipe(Effect.provide(HttpLive)))
})

// -- the property: any key, any piece, any encoding, any field -------------

const KEY_CHARS = [..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_+/=."]
const keyArb = fc.array(fc.constantFrom(...KEY_CHARS), { minLength: 16, maxLength: 64 }).map((cs) => cs.join(""))

/** Innocent words around the piece (no key characters run into it from them by accident: a space separates). */
const words = fc.array(fc.constantFrom("the", "request", "was", "rejected", "by", "upstream", "key", "id", "retry", "later", ":", "—"), { maxLength: 8 }).map((w) => w.join(" "))

/** A hostile text: a piece of the key, spelled any way, among innocent words. */
const hostileText = keyArb.chain((key) =>
  fc.record({ key: fc.constant(key), spelled: spelledPiece(key), before: words, after: words })
    .map(({ after, before, key, spelled }) => ({ key, plain: spelled.plain, text: `${before} ${spelled.spelled} ${after}` }))
)

describe("Secrets: any key, any piece of 8 or more characters, any encoding, any field", () => {
  it.prop("scrubSecrets leaves no piece of the key in the text, and keeps the words around it", [hostileText], ([{ key, text }]) => {
    const out = scrubSecrets(text, [Redacted.make(key)])
    expect(leaksIn(out, key), `${text}\n→ ${out}`).toEqual([])
    expect(out).toContain("[REDACTED]")
    // scrubbing is done once and for all
    expect(scrubSecrets(out, [Redacted.make(key)])).toBe(out)
  }, { fastCheck: { numRuns: 2_000 } })

  it.prop("text without a piece of the key is left as it is", [keyArb, fc.string({ maxLength: 200 })], ([key, text]) => {
    fc.pre(leaksIn(text, key).length === 0 && !/\*{3}|sk-|AIza/.test(text))
    expect(scrubSecrets(text, [Redacted.make(key)])).toBe(text)
  }, { fastCheck: { numRuns: 1_000 } })

  const FIELDS = ["message", "type", "param", "code", "request_id", "header", "google message", "google status", "google metadata", "html title", "text body"] as const
  it.prop(
    "classifyResponse: the piece in any field of either wire format (or the x-request-id header) is in no field of the failure",
    [hostileText, fc.constantFrom(...FIELDS), fc.constantFrom(400, 401, 429, 500, 503)],
    ([{ key, text }, field, status]) => {
      // the hostile text is written into the JSON text as it is: its escapes are the body's own
      const raw = JSON.stringify(text).slice(1, -1).replace(/\\\\/g, "\\")
      const quoted = /^(?:[^"\\]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*$/.test(raw) ? raw : JSON.stringify(text).slice(1, -1)
      const body = field === "header"
        ? "{}"
        : field === "html title"
        ? `<html><head><title>${text}</title></head><body>bad gateway</body></html>`
        : field === "text body"
        ? text
        : field.startsWith("google")
        ? `{"error":{"code":${status},"message":"${field === "google message" ? quoted : "API key not valid"}","status":"${field === "google status" ? quoted : "INVALID_ARGUMENT"}","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","metadata":{"key":"${field === "google metadata" ? quoted : "k"}"}}]}}`
        : `{"error":{"message":"${field === "message" ? quoted : "rejected"}","type":"${field === "type" ? quoted : "invalid_request_error"}","param":"${field === "param" ? quoted : "p"}","code":"${field === "code" ? quoted : "c"}"},"request_id":"${field === "request_id" ? quoted : "r"}"}`
      const headers = field === "header" ? { "x-request-id": text.replace(/[^\x20-\x7e]/g, "") } : {}
      const failure = classifyResponse({ status, headers, body, provider: "p", model: "m", secrets: [Redacted.make(key)] })
      expect(leaksBySurface(fieldsOf(failure), [key]), body).toEqual({})
    },
    { fastCheck: { numRuns: 1_000 } }
  )
})

// -- over HTTP: the hostile provider, every encoding, both wire formats, text, image and video

const HOSTILE_KEY = "gw-live-SECRET-9d2b7e4a1c8f6035"

describe("Secrets: a hostile provider echoing the key in every spelling, over HTTP", () => {
  const cases = ENCODING_NAMES.flatMap((encoding) => (["error", "ok"] as const).map((outcome) => [encoding, outcome] as const))
  it.scoped.each(cases)("%s (%s): text, image and video, both wire formats, render no piece of the key", ([encoding, outcome]) =>
    Effect.gen(function*() {
      const hostile = yield* startHostile
      const apiKey = Redacted.make(HOSTILE_KEY)
      const openai = yield* OpenAICompatible.make({ name: "hostile-openai", baseUrl: hostile.url, apiKey, timeout: "30 seconds" })
      const gemini = yield* Gemini.make({ name: "hostile-gemini", baseUrl: hostile.url, apiKey, timeout: "30 seconds" })
      const model = `hostile-${encoding}${outcome === "ok" ? "-ok" : ""}`
      const surfaces: Record<string, string> = {}
      const keep = (name: string, exit: Exit.Exit<unknown, GenerationFailure>) => {
        if (Exit.isSuccess(exit)) surfaces[`${name}: result`] = show(exit.value)
        else if (exit.cause._tag === "Fail") Object.assign(surfaces, Object.fromEntries(Object.entries(fieldsOf(exit.cause.error)).map(([k, v]) => [`${name}: ${k}`, v])))
        else surfaces[`${name}: defect`] = `DEFECT ${Cause.pretty(exit.cause)}`
      }
      keep("openai text", yield* Effect.exit(openai.generateText(ask(model, "Hello"))))
      keep("gemini text", yield* Effect.exit(gemini.generateText(ask(model, "Hello"))))
      keep("openai image", yield* Effect.exit(openai.generateImage(ImageRequest.make({ model, prompt: "A kite" }))))
      keep("gemini image", yield* Effect.exit(gemini.generateImage(ImageRequest.make({ model, prompt: "A kite" }))))
      const submitted = yield* Effect.exit(openai.submitVideo(VideoRequest.make({ model, prompt: "A kite" })))
      keep("openai video submit", submitted)
      if (Exit.isSuccess(submitted)) keep("openai video poll", yield* Effect.exit(openai.pollVideo(submitted.value)))
      expect(hostile.received()).toBe(outcome === "ok" ? 6 : 5)
      expect(Object.keys(surfaces).filter((k) => surfaces[k]!.startsWith("DEFECT"))).toEqual([])
      expect(Object.values(surfaces).some((text) => text.includes("[REDACTED]"))).toBe(true)
      expect(leaksBySurface(surfaces, [HOSTILE_KEY])).toEqual({})
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("a video task named with the key is refused without quoting it", () =>
    Effect.gen(function*() {
      const server = yield* serveFixed(200, { "content-type": "application/json" }, JSON.stringify({ id: `task_${GW_KEY}`, object: "video", status: "queued" }))
      const provider = yield* OpenAICompatible.make({ baseUrl: server.url, apiKey: Redacted.make(GW_KEY), timeout: "30 seconds" })
      const failure = failureOf(yield* Effect.exit(provider.submitVideo(VideoRequest.make({ model: "sora-2", prompt: "A kite" }))))
      expect([failure.reason, failure.code, failure.status]).toEqual(["ServerError", "unexpected_response", 200])
      expect(leaksBySurface(fieldsOf(failure), [GW_KEY])).toEqual({})
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("an image URL carrying the key (it cannot be scrubbed and still work) is refused without quoting it", () =>
    Effect.gen(function*() {
      const server = yield* serveFixed(200, { "content-type": "application/json", "x-request-id": "req_1" }, JSON.stringify({ created: 1, data: [{ url: `https://cdn.example/x.png?key=${encodeURIComponent(GW_KEY)}` }] }))
      const provider = yield* OpenAICompatible.make({ baseUrl: server.url, apiKey: Redacted.make(GW_KEY), timeout: "30 seconds" })
      const failure = failureOf(yield* Effect.exit(provider.generateImage(ImageRequest.make({ model: "gpt-image-1.5", prompt: "A kite" }))))
      expect([failure.reason, failure.code, failure.status, failure.requestId]).toEqual(["ServerError", "unexpected_response", 200, "req_1"])
      expect(leaksBySurface(fieldsOf(failure), [GW_KEY])).toEqual({})
    }).pipe(Effect.provide(HttpLive)))
})
