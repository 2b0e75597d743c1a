import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, HashMap, Logger, LogLevel, Metric, Option, Redacted, TestClock, Tracer } from "effect"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import { HardFailure } from "../src/Failure.js"
import * as FallbackChain from "../src/FallbackChain.js"
import * as Observability from "../src/Observability.js"
import * as OpenAICompatible from "../src/OpenAICompatible.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import { ImageRequest } from "../src/ImageGeneration.js"
import { settle } from "./support/clock.js"
import { apiKey, HttpLive, KEY, serveFixed } from "./support/simulator.js"

// The metrics live in Effect's global registry: every test uses its own model names.

type Tag = readonly [string, string]

/** A counter's value for one tag set (tags in the documented order). */
const read = (metric: Metric.Metric.Counter<number>, ...tags: ReadonlyArray<Tag>) =>
  Effect.map(Metric.value(tags.reduce((m, [k, v]) => Metric.tagged(m, k, v), metric)), (s) => s.count)

const histogram = (...tags: ReadonlyArray<Tag>) =>
  Metric.value(tags.reduce((m, [k, v]) => Metric.tagged(m, k, v), Observability.attemptDuration))

const record = (fields: ConstructorParameters<typeof FallbackChain.AttemptRecord>[0]) => FallbackChain.AttemptRecord.make(fields)

/** A logger that keeps every line: level, message, annotations, and how the stock loggers render it. */
const recordingLogger = () => {
  const lines: Array<{ level: string; message: string; annotations: Record<string, unknown>; rendered: string }> = []
  const logger = Logger.make<unknown, void>((options) => {
    lines.push({
      level: options.logLevel.label,
      message: String(Array.isArray(options.message) ? options.message.join(" ") : options.message),
      annotations: Object.fromEntries(HashMap.toEntries(options.annotations)),
      rendered: [Logger.logfmtLogger.log(options), Logger.jsonLogger.log(options), Logger.stringLogger.log(options)].join("\n")
    })
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}

const quiet = Logger.replace(Logger.defaultLogger, Logger.none)

interface RecordedSpan {
  readonly name: string
  readonly spanId: string
  readonly parentId: string | undefined
  readonly attributes: Map<string, unknown>
  exit: Exit.Exit<unknown, unknown> | undefined
}

/** A tracer that keeps every span with its parent, attributes and exit. */
const recordingTracer = () => {
  const spans: Array<RecordedSpan> = []
  let counter = 0
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind, options) => {
      const spanId = `span-${++counter}`
      const recorded: RecordedSpan = {
        name,
        spanId,
        parentId: Option.isSome(parent) ? parent.value.spanId : undefined,
        attributes: new Map(Object.entries(options?.attributes ?? {})),
        exit: undefined
      }
      spans.push(recorded)
      let status: Tracer.SpanStatus = { _tag: "Started", startTime }
      return {
        _tag: "Span",
        name,
        spanId,
        traceId: "trace-1",
        parent,
        context,
        get status() {
          return status
        },
        attributes: recorded.attributes,
        links: [...links],
        sampled: true,
        kind,
        end: (endTime, exit) => {
          status = { _tag: "Ended", startTime, endTime, exit }
          recorded.exit = exit
        },
        attribute: (key, value) => {
          recorded.attributes.set(key, value)
        },
        event: () => {},
        addLinks: () => {}
      }
    },
    context: (f) => f()
  })
  const named = (name: string) => spans.filter((s) => s.name === name)
  return { tracer, spans, named }
}

const overloaded = (model: string) =>
  new HardFailure({
    reason: "Overloaded",
    provider: "gemini",
    model,
    status: 503,
    message: "The model is overloaded. Please try again later."
  })

describe("Observability: metrics", () => {
  it.effect("attempts are counted by model and outcome, failures by category and reason, skips by reason", () =>
    Effect.gen(function*() {
      const m = "count-primary"
      const other = "count-secondary"
      yield* Observability.recordAttempt(record({ model: m, attempt: 1, outcome: "failure", category: "hard", reason: "Overloaded", status: 503, durationMs: 40_000 }))
      yield* Observability.recordAttempt(record({ model: m, attempt: 2, outcome: "failure", category: "hard", reason: "Overloaded", status: 503, durationMs: 35_000 }))
      yield* Observability.recordAttempt(record({ model: m, attempt: 3, outcome: "failure", category: "hard", reason: "RateLimited", status: 429, durationMs: 200 }))
      yield* Observability.recordAttempt(record({ model: m, attempt: 0, outcome: "skipped", reason: "CircuitOpen", durationMs: 0 }))
      yield* Observability.recordAttempt(record({ model: other, attempt: 1, outcome: "failure", category: "soft", reason: "ContentFiltered", status: 200, durationMs: 9_000 }))
      yield* Observability.recordAttempt(record({ model: other, attempt: 2, outcome: "success", durationMs: 21_000, cost: 0.04 }))
      yield* Observability.recordAttempt(record({ model: other, attempt: 1, outcome: "success", durationMs: 19_000, cost: 0.04 }))
      yield* Observability.recordAttempt(record({ model: other, attempt: 0, outcome: "skipped", reason: "Deadline", durationMs: 0 }))

      expect(yield* read(Observability.attempts, ["model", m], ["outcome", "failure"])).toBe(3)
      expect(yield* read(Observability.attempts, ["model", m], ["outcome", "success"])).toBe(0)
      expect(yield* read(Observability.attempts, ["model", m], ["outcome", "skipped"])).toBe(1)
      expect(yield* read(Observability.attempts, ["model", other], ["outcome", "success"])).toBe(2)
      expect(yield* read(Observability.failures, ["model", m], ["category", "hard"], ["reason", "Overloaded"])).toBe(2)
      expect(yield* read(Observability.failures, ["model", m], ["category", "hard"], ["reason", "RateLimited"])).toBe(1)
      expect(yield* read(Observability.failures, ["model", other], ["category", "soft"], ["reason", "ContentFiltered"])).toBe(1)
      expect(yield* read(Observability.skips, ["model", m], ["reason", "CircuitOpen"])).toBe(1)
      expect(yield* read(Observability.skips, ["model", other], ["reason", "Deadline"])).toBe(1)
      // priced successes only; failures are not billed
      expect(yield* read(Observability.cost, ["model", other], ["source", "traffic"])).toBeCloseTo(0.08, 10)
      expect(yield* read(Observability.cost, ["model", m], ["source", "traffic"])).toBe(0)

      // the same numbers through the plain snapshot, tags as records
      const samples = (yield* Observability.snapshot).filter((s) => s.tags.model === m || s.tags.model === other)
      const counters = samples.flatMap((s) => (s.kind === "counter" && s.value > 0 ? [`${s.name} ${JSON.stringify(s.tags)} ${s.value.toFixed(2)}`] : []))
      expect(counters).toEqual([
        `ai.attempt.failures {"model":"${m}","category":"hard","reason":"Overloaded"} 2.00`,
        `ai.attempt.failures {"model":"${m}","category":"hard","reason":"RateLimited"} 1.00`,
        `ai.attempt.failures {"model":"${other}","category":"soft","reason":"ContentFiltered"} 1.00`,
        `ai.attempt.skips {"model":"${m}","reason":"CircuitOpen"} 1.00`,
        `ai.attempt.skips {"model":"${other}","reason":"Deadline"} 1.00`,
        `ai.attempts {"model":"${m}","outcome":"failure"} 3.00`,
        `ai.attempts {"model":"${m}","outcome":"skipped"} 1.00`,
        `ai.attempts {"model":"${other}","outcome":"failure"} 1.00`,
        `ai.attempts {"model":"${other}","outcome":"skipped"} 1.00`,
        `ai.attempts {"model":"${other}","outcome":"success"} 2.00`,
        `ai.cost {"model":"${other}","source":"traffic"} 0.08`
      ])
    }).pipe(Effect.provide(quiet)))

  it.effect("latency lands in the histogram's buckets in seconds, per model and outcome; skipped models are not timed", () =>
    Effect.gen(function*() {
      const m = "latency-model"
      const ok = (durationMs: number, attempt: number) => record({ model: m, attempt, outcome: "success", durationMs })
      const failed = (durationMs: number, attempt: number) =>
        record({ model: m, attempt, outcome: "failure", category: "hard", reason: "Timeout", durationMs })
      for (const [i, ms] of [50, 3_000, 30_000, 95_000].entries()) yield* Observability.recordAttempt(ok(ms, i + 1))
      for (const [i, ms] of [120_000, 250_000, 400_000].entries()) yield* Observability.recordAttempt(failed(ms, i + 1))
      yield* Observability.recordAttempt(record({ model: m, attempt: 0, outcome: "skipped", reason: "CircuitOpen", durationMs: 0 }))

      const success = yield* histogram(["model", m], ["outcome", "success"])
      expect(success.count).toBe(4)
      expect(success.sum).toBeCloseTo(128.05, 10)
      expect([success.min, success.max]).toEqual([0.05, 95])
      expect(success.buckets).toEqual([
        [0.1, 1], [0.25, 1], [0.5, 1], [1, 1], [2, 1], [5, 2], [10, 2], [20, 2], [30, 3], [45, 3], [60, 3],
        [90, 3], [120, 4], [180, 4], [300, 4], [Infinity, 4]
      ])
      const failure = yield* histogram(["model", m], ["outcome", "failure"])
      expect(failure.count).toBe(3)
      expect(failure.buckets).toEqual([
        [0.1, 0], [0.25, 0], [0.5, 0], [1, 0], [2, 0], [5, 0], [10, 0], [20, 0], [30, 0], [45, 0], [60, 0],
        [90, 0], [120, 1], [180, 1], [300, 2], [Infinity, 3]
      ])
      // the skipped model was counted as an attempt but not timed
      expect(yield* read(Observability.attempts, ["model", m], ["outcome", "skipped"])).toBe(1)
      expect((yield* histogram(["model", m], ["outcome", "skipped"])).count).toBe(0)
    }).pipe(Effect.provide(quiet)))

  it.effect("served and failed requests and probes are counted; probe cost is kept apart from traffic cost", () =>
    Effect.gen(function*() {
      const primary = "served-primary"
      const fallback = "served-fallback"
      const ok = Effect.succeed({ model: primary, rank: 0, fellBack: false, degraded: false, attempts: [], cost: 0 })
      const fellBack = Effect.succeed({ model: fallback, rank: 1, fellBack: true, degraded: false, attempts: [], cost: 0.03 })
      const allFailed = Effect.fail(new FallbackChain.AllModelsFailed({ message: "all 2 models failed", attempts: [] }))
      const badRequest = Effect.fail(
        new HardFailure({ reason: "BadRequest", provider: "gateway", model: primary, status: 400, message: "bad size", param: "size" })
      )
      const observe = Observability.observeRequest({ operation: "served-test" })
      yield* observe(ok)
      yield* observe(fellBack)
      yield* observe(fellBack)
      yield* Effect.exit(observe(allFailed))
      yield* Effect.exit(observe(badRequest))
      yield* Observability.recordProbe({ model: primary, outcome: "failure", reason: "Overloaded", durationMs: 900 })
      yield* Observability.recordProbe({ model: primary, outcome: "success", durationMs: 4_000, cost: 0.01 })

      expect(yield* read(Observability.requestsServed, ["model", primary], ["fellBack", "false"])).toBe(1)
      expect(yield* read(Observability.requestsServed, ["model", fallback], ["fellBack", "true"])).toBe(2)
      expect(yield* read(Observability.requestsFailed, ["operation", "served-test"], ["reason", "AllModelsFailed"])).toBe(1)
      expect(yield* read(Observability.requestsFailed, ["operation", "served-test"], ["reason", "BadRequest"])).toBe(1)
      expect(yield* read(Observability.probes, ["model", primary], ["outcome", "failure"])).toBe(1)
      expect(yield* read(Observability.probes, ["model", primary], ["outcome", "success"])).toBe(1)
      expect(yield* read(Observability.cost, ["model", primary], ["source", "probe"])).toBeCloseTo(0.01, 10)
      expect(yield* read(Observability.cost, ["model", primary], ["source", "traffic"])).toBe(0)
    }).pipe(Effect.provide(quiet)))
})

describe("Observability: breaker transitions", () => {
  it.scoped("every transition of every breaker is counted, sets the state gauge and logs one line (opening at Warning)", () =>
    Effect.gen(function*() {
      const logs = recordingLogger()
      const m = "breaker-model"
      const breakers = yield* CircuitBreaker.CircuitBreakers
      yield* Observability.trackBreakers.pipe(Effect.provide(logs.layer))
      const breaker = yield* breakers.get(m)
      const call = (outcome: Effect.Effect<string, HardFailure>) => Effect.exit(breaker.withBreaker(outcome))
      const failFive = Effect.repeatN(call(Effect.fail(overloaded(m))), 4)
      // let the tracker consume what was published (waits until every fiber is suspended)
      const drain = TestClock.adjust(0)

      yield* failFive // closed → open (5 consecutive failures)
      yield* drain
      expect(yield* read(Observability.breakerTransitions, ["model", m], ["from", "closed"], ["to", "open"])).toBe(1)
      expect((yield* Metric.value(Observability.breakerState.pipe(Metric.tagged("model", m)))).value).toBe(2)

      yield* TestClock.adjust("300 seconds")
      yield* call(Effect.succeed("ok")) // open → half-open, then the probe closes it
      yield* drain
      expect((yield* Metric.value(Observability.breakerState.pipe(Metric.tagged("model", m)))).value).toBe(0)

      yield* failFive // closed → open again
      yield* TestClock.adjust("300 seconds")
      yield* call(Effect.fail(overloaded(m))) // open → half-open → open (probe failed)
      yield* drain

      const count = (from: string, to: string) => read(Observability.breakerTransitions, ["model", m], ["from", from], ["to", to])
      expect([
        yield* count("closed", "open"),
        yield* count("open", "half-open"),
        yield* count("half-open", "closed"),
        yield* count("half-open", "open")
      ]).toEqual([2, 2, 1, 1])
      expect((yield* Metric.value(Observability.breakerState.pipe(Metric.tagged("model", m)))).value).toBe(2)

      expect(logs.lines.map((l) => `${l.level} ${l.annotations["ai.breaker.from"]} → ${l.annotations["ai.breaker.to"]}`)).toEqual([
        "WARN closed → open",
        "INFO open → half-open",
        "INFO half-open → closed",
        "WARN closed → open",
        "INFO open → half-open",
        "WARN half-open → open"
      ])
      const first = logs.lines[0]!
      expect(first.message).toBe(`circuit for ${m}: closed → open (failure rate 100% >= 30% over 5 calls)`)
      expect(first.annotations).toMatchObject({
        "ai.model": m,
        "ai.breaker.reason": "failure rate 100% >= 30% over 5 calls",
        "ai.breaker.at": new Date(0).toISOString()
      })
      expect(logs.lines[4]!.annotations["ai.breaker.at"]).toBe(new Date(600_000).toISOString())
    }).pipe(Effect.provide(CircuitBreaker.layer())))
})

describe("Observability: spans", () => {
  it.effect("each attempt is a span inside the request's span, with the outcome and the failure's details as attributes", () =>
    Effect.gen(function*() {
      const recorder = recordingTracer()
      const m = "span-model"
      const failure = new HardFailure({
        reason: "RateLimited",
        provider: "gateway",
        model: m,
        status: 429,
        message: `Rate limit reached for key ${KEY}; please retry`,
        param: "n",
        code: "rate_limit_exceeded",
        requestId: "req_8f3a21",
        retryAfter: Duration.seconds(20)
      })
      const skipped = new CircuitBreaker.CircuitOpen({ model: "span-other", state: "open", message: "open", retryAt: 1, retryAfter: Duration.zero })
      const served = Effect.gen(function*() {
        yield* Effect.exit(Effect.fail(failure).pipe(Observability.attemptSpan({ model: m, attempt: 1, operation: "image", provider: "gateway" })))
        yield* Effect.exit(Effect.fail(skipped).pipe(Observability.attemptSpan({ model: "span-other", attempt: 1, operation: "image" })))
        const value = yield* Effect.succeed("an image").pipe(Observability.attemptSpan({ model: m, attempt: 2, operation: "image" }))
        return { value, model: m, rank: 0, fellBack: false, degraded: false, attempts: [1, 2, 3], cost: 0.04 }
      }).pipe(Observability.requestSpan({ operation: "image" }))
      yield* served.pipe(Effect.withTracer(recorder.tracer))

      expect(recorder.spans.map((s) => s.name)).toEqual(["ai.request", "ai.attempt", "ai.attempt", "ai.attempt"])
      const [request, failed, skip, ok] = recorder.spans as [RecordedSpan, RecordedSpan, RecordedSpan, RecordedSpan]
      expect([failed, skip, ok].map((s) => s.parentId)).toEqual([request.spanId, request.spanId, request.spanId])
      expect(Object.fromEntries(failed.attributes)).toEqual({
        "ai.model": m,
        "ai.attempt": 1,
        "ai.operation": "image",
        "ai.provider": "gateway",
        "ai.outcome": "failure",
        "ai.failure.category": "hard",
        "ai.failure.reason": "RateLimited",
        "http.response.status_code": 429,
        "ai.failure.message": "Rate limit reached for key [REDACTED]; please retry",
        "ai.failure.param": "n",
        "ai.failure.code": "rate_limit_exceeded",
        "ai.request_id": "req_8f3a21",
        "ai.retry_after_ms": 20_000
      })
      expect(failed.exit !== undefined && Exit.isFailure(failed.exit)).toBe(true)
      expect(Object.fromEntries(skip.attributes)).toMatchObject({ "ai.model": "span-other", "ai.outcome": "skipped", "ai.failure.reason": "CircuitOpen" })
      expect(Object.fromEntries(ok.attributes)).toEqual({ "ai.model": m, "ai.attempt": 2, "ai.operation": "image", "ai.outcome": "success" })
      expect(Object.fromEntries(request.attributes)).toEqual({
        "ai.operation": "image",
        "ai.outcome": "success",
        "ai.served_by": m,
        "ai.fell_back": false,
        "ai.degraded": false,
        "ai.rank": 0,
        "ai.cost": 0.04,
        "ai.attempts": 3
      })
    }))

  it.effect("span names come from the options; an interrupted attempt says so", () =>
    Effect.gen(function*() {
      const recorder = recordingTracer()
      yield* Effect.exit(Effect.interrupt.pipe(Observability.attemptSpan({ model: "span-interrupted", attempt: 1 }))).pipe(
        Observability.withOptions({ attemptSpanName: "genai.try" }),
        Effect.withTracer(recorder.tracer)
      )
      expect(recorder.spans.map((s) => [s.name, s.attributes.get("ai.outcome")])).toEqual([["genai.try", "interrupted"]])
    }))
})

describe("Observability: logs", () => {
  const secretGatewayKey = "gw-live-7f3a9c1e5b2d4a68"

  it.effect("a failed attempt logs provider, model, status, reason, message, param, request id and retry-after, but no key", () =>
    Effect.gen(function*() {
      const logs = recordingLogger()
      const m = "log-model"
      const failure = new HardFailure({
        reason: "Unauthorized",
        provider: "gateway",
        model: m,
        status: 401,
        message: `Incorrect API key provided: ${KEY}. Key ${secretGatewayKey} is not valid for ${m}.`,
        param: "api_key",
        code: "invalid_api_key",
        requestId: "req_44b1c09e",
        retryAfter: Duration.seconds(30),
        rawBody: `{"error":{"message":"RAW-BODY-MARKER ${KEY}"}}`
      })
      const failed = record({
        model: m,
        attempt: 1,
        outcome: "failure",
        category: "hard",
        reason: failure.reason,
        status: 401,
        message: failure.message,
        durationMs: 120
      })
      yield* Observability.recordAttempt(failed, { operation: "text", failure }).pipe(
        Observability.withOptions({ secrets: [Redacted.make(secretGatewayKey)] }),
        Effect.provide(logs.layer)
      )
      expect(logs.lines).toHaveLength(1)
      const line = logs.lines[0]!
      expect(line.level).toBe("WARN")
      expect(line.message).toBe(
        `${m} attempt 1 failed: Unauthorized (HTTP 401): Incorrect API key provided: [REDACTED]. Key [REDACTED] is not valid for ${m}. [param: api_key]`
      )
      expect(line.annotations).toEqual({
        "ai.model": m,
        "ai.attempt": 1,
        "ai.outcome": "failure",
        "ai.duration_ms": 120,
        "ai.operation": "text",
        "ai.provider": "gateway",
        "ai.failure.category": "hard",
        "ai.failure.reason": "Unauthorized",
        "http.response.status_code": 401,
        "ai.failure.message": `Incorrect API key provided: [REDACTED]. Key [REDACTED] is not valid for ${m}.`,
        "ai.failure.param": "api_key",
        "ai.failure.code": "invalid_api_key",
        "ai.request_id": "req_44b1c09e",
        "ai.retry_after_ms": 30_000
      })
      // whatever the renderer: no key, and the raw body is never logged
      for (const text of [line.rendered, line.message]) {
        expect(text).not.toContain(KEY)
        expect(text).not.toContain(secretGatewayKey)
        expect(text).not.toContain("RAW-BODY-MARKER")
      }
    }))

  it.effect("without the configured key only the well-known key shapes are scrubbed", () =>
    Effect.gen(function*() {
      const logs = recordingLogger()
      const failure = new HardFailure({
        reason: "Unauthorized",
        provider: "gateway",
        model: "log-unconfigured",
        status: 401,
        message: `bad keys ${KEY} and ${secretGatewayKey}`
      })
      yield* Observability.recordAttempt(
        record({ model: failure.model, attempt: 1, outcome: "failure", reason: failure.reason, message: failure.message, durationMs: 5 })
      ).pipe(Effect.provide(logs.layer))
      // no failure given: the record's own message is logged, scrubbed
      expect(logs.lines[0]!.annotations["ai.failure.message"]).toBe(`bad keys [REDACTED] and ${secretGatewayKey}`)
    }))

  it.effect("skips, fallbacks and degraded results log at their levels; successes at Debug; None turns lines off", () =>
    Effect.gen(function*() {
      const logs = recordingLogger()
      const m = "levels-model"
      yield* Effect.gen(function*() {
        yield* Observability.recordAttempt(record({ model: m, attempt: 0, outcome: "skipped", reason: "CircuitOpen", durationMs: 0 }))
        yield* Observability.recordAttempt(record({ model: m, attempt: 1, outcome: "success", durationMs: 3_000, cost: 0.03 }))
        yield* Observability.recordServed({ model: m, rank: 2, fellBack: true })
        yield* Observability.recordServed({ model: "degraded", rank: -1, fellBack: true, degraded: true })
        yield* Observability.recordAttempt(record({ model: m, attempt: 2, outcome: "failure", reason: "Overloaded", durationMs: 1 })).pipe(
          Observability.withOptions({ failureLogLevel: LogLevel.None })
        )
      }).pipe(Effect.provide(logs.layer), Logger.withMinimumLogLevel(LogLevel.All))
      expect(logs.lines.map((l) => `${l.level} ${l.message}`)).toEqual([
        `INFO ${m} skipped without a call: its circuit is open`,
        `DEBUG ${m} attempt 1 succeeded in 3000 ms`,
        `INFO served by fallback model ${m} (rank 2)`,
        "WARN every model failed: served a degraded stand-in"
      ])
    }))

  it.scoped("a real provider failure over HTTP reaches the log with its message, param, code and request id", () =>
    Effect.gen(function*() {
      const logs = recordingLogger()
      const body = JSON.stringify({
        error: {
          message: `Invalid value for 'size': '999x999' (key ${KEY})`,
          type: "invalid_request_error",
          param: "size",
          code: "invalid_value"
        }
      })
      const server = yield* serveFixed(400, { "content-type": "application/json", "x-request-id": "req_wire_5521" }, body)
      const gateway = yield* OpenAICompatible.make({ name: "wire-gateway", baseUrl: server.url, apiKey, timeout: "30 seconds" })
      const m = "wire-image-model"
      const failure = yield* Effect.flip(gateway.generateImage(ImageRequest.make({ model: m, prompt: "A red fox" })))
      yield* Observability.recordAttempt(
        record({ model: m, attempt: 1, outcome: "failure", category: "hard", reason: failure.reason, message: failure.message, durationMs: 12, ...(failure.status === undefined ? {} : { status: failure.status }) }),
        { operation: "image", failure }
      ).pipe(Effect.provide(logs.layer))
      expect(logs.lines).toHaveLength(1)
      expect(logs.lines[0]!.annotations).toMatchObject({
        "ai.provider": "wire-gateway",
        "ai.failure.reason": "BadRequest",
        "http.response.status_code": 400,
        "ai.failure.param": "size",
        "ai.failure.code": "invalid_value",
        "ai.request_id": "req_wire_5521"
      })
      expect(logs.lines[0]!.annotations["ai.failure.message"]).toContain("Invalid value for 'size'")
      expect(logs.lines[0]!.rendered).not.toContain(KEY)
    }).pipe(Effect.provide(HttpLive)))
})

describe("Observability: with a fallback chain", () => {
  it.scoped("a chain that fails over records its own attempts and spans; the request, the metrics and the spans agree", () =>
    Effect.gen(function*() {
      const recorder = recordingTracer()
      const primary = "chain-primary"
      const fallback = "chain-fallback"
      const served = yield* settle(
        FallbackChain.run(
          [
            { model: primary, call: () => Effect.fail(overloaded(primary)) },
            { model: fallback, price: 0.03, call: () => Effect.succeed("an image") }
          ],
          { retry: { maxAttempts: 2 }, operation: "image" }
        ).pipe(
          Observability.observeRequest({ operation: "chain-image" }),
          Effect.withTracer(recorder.tracer)
        )
      )
      expect(served.model).toBe(fallback)
      expect(yield* read(Observability.attempts, ["model", primary], ["outcome", "failure"])).toBe(2)
      expect(yield* read(Observability.failures, ["model", primary], ["category", "hard"], ["reason", "Overloaded"])).toBe(2)
      expect(yield* read(Observability.attempts, ["model", fallback], ["outcome", "success"])).toBe(1)
      expect(yield* read(Observability.cost, ["model", fallback], ["source", "traffic"])).toBeCloseTo(0.03, 10)
      expect(yield* read(Observability.requestsServed, ["model", fallback], ["fellBack", "true"])).toBe(1)

      const attempts = recorder.named("ai.attempt").map((s) => `${s.attributes.get("ai.model")}#${s.attributes.get("ai.attempt")} ${s.attributes.get("ai.outcome")} ${s.attributes.get("ai.operation")}`)
      expect(attempts).toEqual([`${primary}#1 failure image`, `${primary}#2 failure image`, `${fallback}#1 success image`])
      const [request] = recorder.named("ai.request")
      expect(request?.attributes.get("ai.served_by")).toBe(fallback)
      expect(recorder.named("ai.attempt").every((s) => s.parentId === request?.spanId)).toBe(true)
    }).pipe(
      Effect.provide([CircuitBreaker.layer(), RetryPolicy.layer({ jitter: "none" }), quiet])
    ))
})
