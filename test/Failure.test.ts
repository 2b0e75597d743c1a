import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Duration, Either, FastCheck, Schema } from "effect"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import {
  category,
  countsAgainstModel,
  GenerationFailure,
  HardFailure,
  HardReason,
  isFallbackEligible,
  isGenerationFailure,
  isRetryable,
  SilentFailure,
  SilentReason,
  SoftFailure,
  SoftReason
} from "../src/Failure.js"
import { defaultIsFailure } from "../src/internal/modelStatus/state.js"

/**
 * The README truth table. Typed as a total record over each reason literal, so
 * adding a reason to a Schema without deciding its row is a type error; the
 * tests below also iterate the Schema literals at run time.
 */
interface Row {
  readonly retryable: boolean
  readonly fallback: boolean
  /** Fallback-eligible when the caller opts in with `{ contentFiltered: true }`. */
  readonly fallbackIfContentFilteredAllowed: boolean
}
const row = (retryable: boolean, fallback: boolean, fallbackIfContentFilteredAllowed = fallback): Row => ({
  retryable,
  fallback,
  fallbackIfContentFilteredAllowed
})

const hardTable: Record<HardReason, Row> = {
  BadRequest: row(false, false),
  Unauthorized: row(false, false),
  NotFound: row(false, true),
  ContextLengthExceeded: row(false, true),
  ContentFiltered: row(false, false, true),
  RateLimited: row(true, true),
  QuotaExhausted: row(false, true),
  Overloaded: row(true, true),
  ServerError: row(true, true),
  Timeout: row(true, true),
  Network: row(true, true),
  Redirected: row(false, true)
}
const softTable: Record<SoftReason, Row> = {
  ContentFiltered: row(false, false, true),
  Truncated: row(false, false),
  EmptyOutput: row(false, false)
}
const silentTable: Record<SilentReason, Row> = {
  InvalidOutput: row(false, false)
}

const base = { provider: "gemini", model: "gemini-3-pro-image-preview", message: "m" } as const

const hard = (reason: HardReason) => new HardFailure({ reason, ...base, status: 503 })
const soft = (reason: SoftReason) => new SoftFailure({ reason, ...base, status: 200 })
const silent = (reason: SilentReason) =>
  new SilentFailure({ reason, ...base, status: 200, validator: "oneOf", output: "maybe" })

describe("truth table over every reason (from the Schema literals)", () => {
  it("the tables cover exactly the Schema literals", () => {
    expect(Object.keys(hardTable).sort()).toEqual([...HardReason.literals].sort())
    expect(Object.keys(softTable).sort()).toEqual([...SoftReason.literals].sort())
    expect(Object.keys(silentTable).sort()).toEqual([...SilentReason.literals].sort())
  })

  describe.each(HardReason.literals)("HardFailure %s", (reason) => {
    const failure = hard(reason)
    const expected = hardTable[reason]
    it("isRetryable", () => expect(isRetryable(failure)).toBe(expected.retryable))
    it("isFallbackEligible (default and explicit false)", () => {
      expect(isFallbackEligible(failure)).toBe(expected.fallback)
      expect(isFallbackEligible(failure, {})).toBe(expected.fallback)
      expect(isFallbackEligible(failure, { contentFiltered: false })).toBe(expected.fallback)
    })
    it("isFallbackEligible with { contentFiltered: true }", () =>
      expect(isFallbackEligible(failure, { contentFiltered: true })).toBe(expected.fallbackIfContentFilteredAllowed))
    it("category is hard", () => expect(category(failure)).toBe("hard"))
  })

  describe.each(SoftReason.literals)("SoftFailure %s", (reason) => {
    const failure = soft(reason)
    const expected = softTable[reason]
    it("isRetryable", () => expect(isRetryable(failure)).toBe(expected.retryable))
    it("isFallbackEligible", () => {
      expect(isFallbackEligible(failure)).toBe(expected.fallback)
      expect(isFallbackEligible(failure, { contentFiltered: true })).toBe(expected.fallbackIfContentFilteredAllowed)
    })
    it("category is soft", () => expect(category(failure)).toBe("soft"))
  })

  describe.each(SilentReason.literals)("SilentFailure %s", (reason) => {
    const failure = silent(reason)
    const expected = silentTable[reason]
    it("isRetryable", () => expect(isRetryable(failure)).toBe(expected.retryable))
    it("isFallbackEligible", () => {
      expect(isFallbackEligible(failure)).toBe(expected.fallback)
      expect(isFallbackEligible(failure, { contentFiltered: true })).toBe(expected.fallbackIfContentFilteredAllowed)
    })
    it("category is silent", () => expect(category(failure)).toBe("silent"))
  })
})

describe("isGenerationFailure", () => {
  it("recognises the three classes and nothing else", () => {
    expect(isGenerationFailure(hard("Overloaded"))).toBe(true)
    expect(isGenerationFailure(soft("Truncated"))).toBe(true)
    expect(isGenerationFailure(silent("InvalidOutput"))).toBe(true)
    expect(isGenerationFailure(new Error("Overloaded"))).toBe(false)
    expect(isGenerationFailure({ _tag: "HardFailure", reason: "Overloaded", ...base })).toBe(false)
    expect(isGenerationFailure(null)).toBe(false)
  })
})

describe("construction validates", () => {
  it("rejects an unknown reason", () => {
    expect(() => new HardFailure({ reason: "Flaky" as HardReason, ...base })).toThrow()
  })
})

describe("Schema encode/decode", () => {
  const encode = Schema.encodeSync(GenerationFailure)
  const decode = Schema.decodeUnknownSync(GenerationFailure)

  it("a HardFailure encodes retryAfter as millis and decodes back to a Duration", () => {
    const failure = new HardFailure({
      reason: "RateLimited",
      ...base,
      status: 429,
      param: "model",
      code: "RESOURCE_EXHAUSTED",
      requestId: "req_1",
      retryAfter: Duration.seconds(34),
      rawBody: "{\"error\":{}}"
    })
    const encoded = encode(failure)
    expect(encoded).toEqual({
      _tag: "HardFailure",
      reason: "RateLimited",
      provider: "gemini",
      model: "gemini-3-pro-image-preview",
      status: 429,
      message: "m",
      param: "model",
      code: "RESOURCE_EXHAUSTED",
      requestId: "req_1",
      retryAfter: 34_000,
      rawBody: "{\"error\":{}}"
    })
    // Survives a JSON round trip.
    const decoded = decode(JSON.parse(JSON.stringify(encoded)))
    expect(decoded).toBeInstanceOf(HardFailure)
    expect(decoded.reason).toBe("RateLimited")
    expect(decoded.retryAfter).toBeDefined()
    expect(Duration.toMillis(decoded.retryAfter!)).toBe(34_000)
    expect(isRetryable(decoded)).toBe(true)
  })

  it("a retryAfter of 1.5 s encodes as 1500", () => {
    const failure = new HardFailure({ reason: "Overloaded", ...base, retryAfter: Duration.millis(1500) })
    const encoded = encode(failure)
    expect(encoded.retryAfter).toBe(1500)
  })

  it("absent optional fields stay absent", () => {
    const encoded = encode(new HardFailure({ reason: "Network", ...base }))
    expect(encoded).toEqual({ _tag: "HardFailure", reason: "Network", ...base })
    expect("retryAfter" in encoded).toBe(false)
  })

  it("SoftFailure keeps finishReason, completionTokens and partial output", () => {
    const failure = new SoftFailure({
      reason: "Truncated",
      ...base,
      status: 200,
      finishReason: "length",
      completionTokens: 4096,
      output: "Once upon a"
    })
    const encoded = encode(failure)
    expect(encoded).toMatchObject({ _tag: "SoftFailure", reason: "Truncated", finishReason: "length", completionTokens: 4096, output: "Once upon a" })
    const decoded = decode(encoded)
    expect(decoded).toBeInstanceOf(SoftFailure)
    expect(category(decoded)).toBe("soft")
  })

  it("SilentFailure keeps the validator and the whole output", () => {
    const output = "I think the sentiment is probably positive, but it is hard to say."
    const encoded = encode(new SilentFailure({ reason: "InvalidOutput", ...base, validator: "oneOf", output }))
    expect(encoded).toMatchObject({ _tag: "SilentFailure", validator: "oneOf", output })
    const decoded = decode(encoded)
    expect(decoded).toBeInstanceOf(SilentFailure)
    expect(decoded._tag === "SilentFailure" && decoded.output).toBe(output)
  })

  it("decoding rejects a mismatched tag/reason and a non-numeric retryAfter", () => {
    const decodeEither = Schema.decodeUnknownEither(GenerationFailure)
    expect(Either.isLeft(decodeEither({ _tag: "SoftFailure", reason: "Overloaded", ...base }))).toBe(true)
    expect(Either.isLeft(decodeEither({ _tag: "SilentFailure", reason: "InvalidOutput", ...base }))).toBe(true) // no validator/output
    expect(Either.isLeft(decodeEither({ _tag: "HardFailure", reason: "Timeout", ...base, retryAfter: "34s" }))).toBe(true)
    expect(Either.isRight(decodeEither({ _tag: "HardFailure", reason: "Timeout", ...base, retryAfter: 0 }))).toBe(true)
  })
})

describe("properties over Schema-generated failures", () => {
  const retryableHard = new Set(HardReason.literals.filter((r) => hardTable[r].retryable))

  it.prop("isRetryable iff a hard failure with a retryable reason", [GenerationFailure], ([failure]) => {
    expect(isRetryable(failure)).toBe(failure._tag === "HardFailure" && retryableHard.has(failure.reason))
    if (isRetryable(failure)) expect(["Timeout", "Network", "Overloaded", "ServerError", "RateLimited"]).toContain(failure.reason)
  })

  it.prop("isFallbackEligible matches the table", [GenerationFailure], ([failure]) => {
    const table: Record<string, Row> = failure._tag === "HardFailure"
      ? hardTable
      : failure._tag === "SoftFailure"
      ? softTable
      : silentTable
    const expected = table[failure.reason]!
    expect(isFallbackEligible(failure)).toBe(expected.fallback)
    expect(isFallbackEligible(failure, { contentFiltered: true })).toBe(expected.fallbackIfContentFilteredAllowed)
  })

  const sameFailure = (decoded: GenerationFailure, failure: GenerationFailure) => {
    expect(decoded).toBeInstanceOf(failure.constructor)
    expect(decoded._tag).toBe(failure._tag)
    expect(decoded.reason).toBe(failure.reason)
    expect(decoded.message).toBe(failure.message)
    expect(decoded.param).toBe(failure.param)
    expect(decoded.rawBody).toBe(failure.rawBody)
    expect(category(decoded)).toBe(category(failure))
    expect(decoded.retryAfter === undefined ? undefined : Duration.toMillis(decoded.retryAfter)).toBe(
      failure.retryAfter === undefined ? undefined : Duration.toMillis(failure.retryAfter)
    )
  }

  it.prop("encode → decode preserves the failure, retryAfter as millis", [GenerationFailure], ([failure]) => {
    const encoded = Schema.encodeSync(GenerationFailure)(failure)
    if (failure.retryAfter !== undefined) expect(encoded.retryAfter).toBe(Duration.toMillis(failure.retryAfter))
    sameFailure(Schema.decodeUnknownSync(GenerationFailure)(encoded), failure)
  })

  // JSON has no NaN/Infinity: a failure whose numbers are finite survives JSON.
  // (retryAfter is finite by construction; status/completionTokens are plain numbers.)
  const jsonSafe = Arbitrary.make(GenerationFailure).filter((f) =>
    (f.status === undefined || Number.isFinite(f.status)) &&
    // JSON has no NaN or Infinity: such a progress could not survive the trip
    (f._tag !== "HardFailure" || f.taskProgress === undefined || Number.isFinite(f.taskProgress)) &&
    (f._tag !== "SoftFailure" || f.completionTokens === undefined || Number.isFinite(f.completionTokens))
  )

  it.prop("encode → JSON → decode preserves the failure", [jsonSafe], ([failure]) => {
    const encoded = Schema.encodeSync(GenerationFailure)(failure)
    sameFailure(Schema.decodeUnknownSync(GenerationFailure)(JSON.parse(JSON.stringify(encoded))), failure)
  })

  it("an infinite retryAfter is rejected at construction (it could not be encoded as JSON millis)", () => {
    expect(() => new HardFailure({ reason: "RateLimited", ...base, retryAfter: Duration.infinity })).toThrow(/finite/)
  })
})

describe("countsAgainstModel: the one list of failures that count against a model's health", () => {
  // the documented list (README, failure taxonomy): the model's own transient faults
  const documented: ReadonlyArray<string> = ["Overloaded", "ServerError", "Timeout", "Network", "RateLimited"]
  const expected = (u: unknown) =>
    typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === "HardFailure" &&
    documented.includes((u as { reason?: unknown }).reason as string)

  it.prop("agrees with the documented list for any failure", [GenerationFailure], ([failure]) => {
    expect(countsAgainstModel(failure)).toBe(failure._tag === "HardFailure" && documented.includes(failure.reason))
  })

  it.prop("the breaker's default and the retry read it: they agree for any failure", [GenerationFailure], ([failure]) => {
    expect(CircuitBreaker.defaults.isFailure(failure)).toBe(countsAgainstModel(failure))
    expect(isRetryable(failure)).toBe(countsAgainstModel(failure))
  })

  it.prop("the status's default counts an observation of a failure iff the failure counts", [GenerationFailure], ([failure]) => {
    const observation = { model: "m", outcome: "failure", latencyMs: 1, category: category(failure), reason: failure.reason } as const
    expect(defaultIsFailure(observation)).toBe(countsAgainstModel(failure))
  })

  const reasons = [...new Set<string>([...HardReason.literals, ...SoftReason.literals, ...SilentReason.literals])]
  const lookalike = FastCheck.record({
    _tag: FastCheck.oneof(FastCheck.constantFrom("HardFailure", "SoftFailure", "SilentFailure", "CircuitOpen"), FastCheck.string()),
    reason: FastCheck.oneof(FastCheck.constantFrom(...reasons), FastCheck.string(), FastCheck.anything())
  }, { requiredKeys: [] })

  it.prop("for any value, only a hard failure of a listed reason counts (read by tag and reason)", [FastCheck.oneof(lookalike, FastCheck.anything())], ([u]) => {
    expect(countsAgainstModel(u)).toBe(expected(u))
    expect(CircuitBreaker.defaults.isFailure(u)).toBe(expected(u))
  })

  it("a redirect (a wrong base URL), a 4xx and an exhausted quota do not count", () => {
    for (const reason of ["Redirected", "BadRequest", "Unauthorized", "NotFound", "ContextLengthExceeded", "ContentFiltered", "QuotaExhausted"] as const) {
      expect(countsAgainstModel(hard(reason))).toBe(false)
    }
    expect(countsAgainstModel(soft("ContentFiltered"))).toBe(false)
    expect(countsAgainstModel(silent("InvalidOutput"))).toBe(false)
  })

  it("a failure that lost its class (another copy of the package, a structured clone) still counts", () => {
    expect(countsAgainstModel({ _tag: "HardFailure", reason: "Overloaded", ...base })).toBe(true)
    expect(countsAgainstModel({ _tag: "HardFailure", reason: "Redirected", ...base })).toBe(false)
    expect(countsAgainstModel({ _tag: "SoftFailure", reason: "Overloaded", ...base })).toBe(false)
    expect([null, undefined, "Overloaded", 503, new Error("Overloaded")].map(countsAgainstModel)).toEqual([false, false, false, false, false])
  })
})
