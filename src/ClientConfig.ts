/**
 * The client's configuration file (what the CLI reads): the models of each operation
 * in priority order — provider kind, base URL, model id, the environment
 * variable that holds its key, vendor, price and capabilities — and the
 * policies' options. Decoded with Schema: a bad file is an
 * {@link InvalidClientConfig} whose message names the field
 * (`image[1].apiKeyEnv: …`), and nothing starts.
 *
 * @example
 * ```json
 * {
 *   "image": [
 *     { "model": "gemini-3-pro-image-preview", "provider": "gemini", "apiKeyEnv": "GEMINI_API_KEY", "vendor": "google", "price": 0.134 },
 *     { "model": "gemini-2.5-flash-image", "provider": "gemini", "apiKeyEnv": "GEMINI_API_KEY", "vendor": "google", "price": 0.039 },
 *     { "model": "seedream-4.5", "provider": "openai-compatible", "baseUrl": "https://gateway.example/v1", "apiKeyEnv": "GATEWAY_API_KEY", "vendor": "bytedance", "price": 0.04 }
 *   ],
 *   "retry": { "maxAttempts": 4, "base": "1 second" },
 *   "fallback": { "attemptTimeout": "120 seconds", "deadline": "5 minutes" }
 * }
 * ```
 *
 * @since 0.1.0
 */
import type { FileSystem, HttpClient } from "@effect/platform"
import { Config, Duration, Effect, Option, ParseResult, Redacted, Schema } from "effect"
import * as CircuitBreaker from "./CircuitBreaker.js"
import * as Gemini from "./Gemini.js"
import { definedOnly } from "./internal/options.js"
import { decodeBounded } from "./internal/boundedDecode.js"
import { scrubSecrets } from "./Classification.js"
import { maxJsonDepth, readJsonFile, tooDeep } from "./internal/jsonFile.js"
import * as ModelCapabilities from "./ModelCapabilities.js"
import * as OpenAICompatible from "./OpenAICompatible.js"
import type { ProviderService } from "./Provider.js"
import type * as ResilientClient from "./ResilientClient.js"
import * as RetryPolicy from "./RetryPolicy.js"

/**
 * A duration written as text: `"30 seconds"`, `"2 minutes"`, `"500 millis"`.
 *
 * @since 0.1.0
 */
export const DurationText = Schema.transformOrFail(
  // `"timeout": 30` is the likeliest mistake: say what is expected, not just "string"
  Schema.String.annotations({
    message: (issue) =>
      `Expected a duration as text such as "30 seconds" or "2 minutes", actual ${issue._tag === "Type" ? JSON.stringify(issue.actual) ?? String(issue.actual) : "another type"}`
  }),
  Schema.DurationFromSelf,
  {
    strict: true,
    decode: (text, _, ast) =>
      Option.match(Duration.decodeUnknown(text.trim()), {
        onNone: () =>
          ParseResult.fail(new ParseResult.Type(ast, text, `Expected a duration such as "30 seconds" or "2 minutes", actual ${JSON.stringify(text)}`)),
        onSome: (d) =>
          Duration.isFinite(d) && Duration.toMillis(d) > 0
            ? ParseResult.succeed(d)
            : ParseResult.fail(new ParseResult.Type(ast, text, `Expected a positive, finite duration, actual ${JSON.stringify(text)}`))
      }),
    encode: (d) => ParseResult.succeed(Duration.format(d))
  }
).annotations({ identifier: "DurationText" })

/**
 * Does this "variable name" look like a key pasted in its place? Key shapes
 * the scrubber knows (`sk-…`, `AIza…`), or a long mixed-case run of letters
 * and digits — variable names are words (`GEMINI_API_KEY`).
 */
const looksLikeKey = (name: string): boolean =>
  scrubSecrets(name, []) !== name ||
  (name.length >= 24 && /[a-z]/.test(name) && /[A-Z]/.test(name) && /[0-9]/.test(name) && !/_/.test(name))

const EnvName = Schema.String.pipe(
  // the value is never quoted: it may be a key pasted where its variable's name belongs
  Schema.pattern(/^[A-Za-z_][A-Za-z0-9_]*$/, {
    message: () => "Expected the name of an environment variable (letters, digits, _) holding the key — not the key itself; the value is not shown"
  }),
  Schema.filter((name) => !looksLikeKey(name), {
    message: () => "Expected the name of an environment variable holding the key, but this looks like a key itself (not shown): put the key in the environment and its variable's name here"
  })
)

const HttpUrl = Schema.String.pipe(
  Schema.filter((s) => {
    try {
      const url = new URL(s)
      return url.protocol === "http:" || url.protocol === "https:" ? true : `Expected an http(s) URL, actual ${JSON.stringify(s)}`
    } catch {
      return `Expected an http(s) URL, actual ${JSON.stringify(s)}`
    }
  })
)

const shortJson = (u: unknown): string => {
  const text = Array.isArray(u) ? "an array" : JSON.stringify(u) ?? String(u)
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

/**
 * Which adapter serves a model.
 *
 * @since 0.1.0
 */
export const ProviderKind = Schema.Literal("openai-compatible", "gemini")

/**
 * One model of a priority list.
 *
 * @since 0.1.0
 */
export class ModelEntry extends Schema.Class<ModelEntry>("effect-ai-resilience/ClientConfig/ModelEntry")(
  Schema.Struct({
    /** The model id sent to the provider. */
    model: Schema.NonEmptyTrimmedString,
    provider: ProviderKind,
    /** Required for `openai-compatible`; Gemini defaults to Google's endpoint. */
    baseUrl: Schema.optional(HttpUrl),
    /** The environment variable that holds the key (the key itself never goes in the file). */
    apiKeyEnv: EnvName,
    /** Who runs the model (for vendor-wide outage triage); default: the provider kind. */
    vendor: Schema.optional(Schema.NonEmptyTrimmedString),
    /** Price of one successful call (per image for image models). */
    price: Schema.optional(Schema.Number.pipe(Schema.nonNegative(), Schema.finite())),
    /** Time-out of one HTTP exchange (default 180 s: a degraded image call takes 60–100+ s). */
    timeout: Schema.optional(DurationText),
    /** What an image model accepts (n per call, response_format / output_format); see `ModelCapabilities`. */
    capabilities: Schema.optional(ModelCapabilities.ModelCapabilities),
    /** Send the caller's trace context (`traceparent`, `b3`) to this provider (default: no, it is a third party). */
    propagateTracing: Schema.optional(Schema.Boolean)
  }).annotations({
    // an entry that is not an object: say what one looks like, not the whole type
    message: (issue) =>
      `Expected a model entry, an object with "model", "provider" and "apiKeyEnv", actual ${
        issue._tag === "Type" ? shortJson(issue.actual) : "another type"
      }`
  }).pipe(Schema.filter((entry) =>
    entry.provider === "openai-compatible" && entry.baseUrl === undefined
      ? { path: ["baseUrl"], message: "is required for provider \"openai-compatible\"" }
      : true
  ))
) {}

const ModelList = Schema.Array(ModelEntry)

/**
 * The whole file.
 *
 * @since 0.1.0
 */
export class ClientConfigFile extends Schema.Class<ClientConfigFile>("effect-ai-resilience/ClientConfig/ClientConfigFile")(
  Schema.Struct({
    text: Schema.optionalWith(ModelList, { default: () => [] }),
    image: Schema.optionalWith(ModelList, { default: () => [] }),
    video: Schema.optionalWith(ModelList, { default: () => [] }),
    retry: Schema.optional(Schema.Struct({
      base: Schema.optional(DurationText),
      factor: Schema.optional(Schema.Number.pipe(Schema.greaterThanOrEqualTo(1), Schema.finite())),
      jitter: Schema.optional(Schema.Literal("full", "proportional", "decorrelated", "none")),
      maxDelay: Schema.optional(DurationText),
      maxAttempts: Schema.optional(Schema.Int.pipe(Schema.between(1, 20))),
      maxElapsed: Schema.optional(DurationText)
    })),
    breaker: Schema.optional(Schema.Struct({
      window: Schema.optional(DurationText),
      minimumCalls: Schema.optional(Schema.Int.pipe(Schema.positive())),
      failureRateThreshold: Schema.optional(Schema.Number.pipe(Schema.between(0, 1))),
      consecutiveFailures: Schema.optional(Schema.Int.pipe(Schema.positive())),
      openDuration: Schema.optional(DurationText),
      maxOpenDuration: Schema.optional(DurationText),
      halfOpenProbes: Schema.optional(Schema.Int.pipe(Schema.positive()))
    })),
    fallback: Schema.optional(Schema.Struct({
      attemptTimeout: Schema.optional(DurationText),
      deadline: Schema.optional(DurationText),
      contentFiltered: Schema.optional(Schema.Boolean)
    })),
    load: Schema.optional(Schema.Struct({
      requestsPerMinute: Schema.optional(Schema.Int.pipe(Schema.positive())),
      concurrency: Schema.optional(Schema.Int.pipe(Schema.positive()))
    })),
    /** Keep successful results this long (default: only share calls in flight). */
    cacheTtl: Schema.optional(DurationText)
  }).pipe(Schema.filter((file) =>
    file.text.length + file.image.length + file.video.length === 0
      ? { path: ["image"], message: "the file lists no models: give at least one under \"text\", \"image\" or \"video\"" }
      : true
  ))
) {}

/**
 * A configuration file that cannot be used: unreadable, not JSON, not a valid
 * configuration, or naming a key variable that is not set. `message` names
 * the file and the field.
 *
 * @since 0.1.0
 */
export class InvalidClientConfig extends Schema.TaggedError<InvalidClientConfig>("effect-ai-resilience/InvalidClientConfig")(
  "InvalidClientConfig",
  { message: Schema.String }
) {}

const modelLists = (["text", "image", "video"] as const).map((key) => ({ key, entry: ModelEntry }))

/**
 * Decode a parsed file. Unknown fields are errors (a typo must not be
 * silently ignored). The message lists the first problems, each named by its
 * field, and counts the rest: a file with thousands of bad entries is refused
 * as quickly as a valid one of its size is read.
 *
 * @since 0.1.0
 */
export const decode = (u: unknown, source = "the configuration"): Effect.Effect<ClientConfigFile, InvalidClientConfig> =>
  Effect.suspend(() => {
    const invalid = (lines: ReadonlyArray<string>) =>
      new InvalidClientConfig({ message: `${source} is not a valid client config:\n${lines.join("\n").replace(/^/gm, "  ")}` })
    if (typeof u !== "object" || u === null || Array.isArray(u)) {
      return Effect.fail(invalid([
        `(root): Expected an object with "text", "image" and/or "video" model lists, actual ${
          Array.isArray(u) ? "an array" : JSON.stringify(u)?.slice(0, 80) ?? String(u)
        }`
      ]))
    }
    // before decoding, which recurses: a tree too deep for the stack is named, not a crash
    const deep = tooDeep(u)
    if (deep !== undefined) return Effect.fail(invalid([`${deep}: nested deeper than ${maxJsonDepth} levels`]))
    return decodeBounded(ClientConfigFile, modelLists, u).pipe(Effect.mapError(invalid))
  })

/**
 * Read, parse and decode a configuration file.
 *
 * @since 0.1.0
 */
export const load = (path: string): Effect.Effect<ClientConfigFile, InvalidClientConfig, FileSystem.FileSystem> =>
  readJsonFile(path).pipe(
    Effect.mapError((e) => new InvalidClientConfig({ message: e.message })),
    Effect.flatMap((parsed) => decode(parsed, path))
  )

/**
 * Every model of the file with its list and rank, primary first in each list.
 *
 * @since 0.1.0
 */
export const entries = (file: ClientConfigFile): ReadonlyArray<{ readonly list: "text" | "image" | "video"; readonly rank: number; readonly entry: ModelEntry }> =>
  (["text", "image", "video"] as const).flatMap((list) => file[list].map((entry, rank) => ({ list, rank, entry })))


/**
 * The retry options of the file.
 *
 * @since 0.1.0
 */
export const retryOptions = (file: ClientConfigFile): RetryPolicy.RetryOptions => definedOnly(file.retry)

/**
 * The circuit-breaker options of the file.
 *
 * @since 0.1.0
 */
export const breakerOptions = (file: ClientConfigFile): CircuitBreaker.CircuitBreakerOptions => definedOnly(file.breaker)

/**
 * Build the adapters (one per provider kind, base URL and key) and the
 * {@link ResilientClient.ResilientClientConfig}. Keys are read with
 * `Config.redacted` from the variables the file names; a variable that is not
 * set is an {@link InvalidClientConfig} naming the field and the variable.
 *
 * @since 0.1.0
 */
export const build = (
  file: ClientConfigFile,
  source = "the configuration"
): Effect.Effect<ResilientClient.ResilientClientConfig, InvalidClientConfig, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const providers = new Map<string, ProviderService>()
    const keys = new Map<string, Redacted.Redacted>()
    const routes: Record<"text" | "image" | "video", Array<ResilientClient.ModelRoute>> = { text: [], image: [], video: [] }
    for (const { list, rank, entry } of entries(file)) {
      const field = `${list}[${rank}]`
      let key = keys.get(entry.apiKeyEnv)
      if (key === undefined) {
        const read = yield* Config.redacted(entry.apiKeyEnv).pipe(
          Effect.mapError(() =>
            new InvalidClientConfig({
              message: `${source}: ${field}.apiKeyEnv: environment variable ${entry.apiKeyEnv} is not set (it must hold the key for ${entry.model})`
            })
          )
        )
        // HTTP trims header values: the key the provider sees (and may echo back) is the trimmed one
        const trimmed = Redacted.value(read).trim()
        if (trimmed.length === 0) {
          return yield* new InvalidClientConfig({ message: `${source}: ${field}.apiKeyEnv: environment variable ${entry.apiKeyEnv} is empty` })
        }
        key = Redacted.make(trimmed)
        keys.set(entry.apiKeyEnv, key)
      }
      const id = JSON.stringify([
        entry.provider,
        entry.baseUrl ?? "",
        entry.apiKeyEnv,
        entry.timeout === undefined ? "" : Duration.toMillis(entry.timeout),
        entry.propagateTracing === true
      ])
      let provider = providers.get(id)
      if (provider === undefined) {
        const name = entry.provider === "gemini" ? "gemini" : new URL(entry.baseUrl!).host
        const shared = {
          ...(entry.timeout === undefined ? {} : { timeout: entry.timeout }),
          ...(entry.propagateTracing === undefined ? {} : { propagateTracing: entry.propagateTracing })
        }
        const made = entry.provider === "gemini"
          ? Gemini.make({ name, apiKey: key, ...(entry.baseUrl === undefined ? {} : { baseUrl: entry.baseUrl }), ...shared })
          : OpenAICompatible.make({ name, apiKey: key, baseUrl: entry.baseUrl!, ...shared })
        provider = yield* made.pipe(
          Effect.mapError((e) => new InvalidClientConfig({ message: `${source}: ${field}: ${e.message}` }))
        )
        providers.set(id, provider)
      }
      routes[list].push({
        model: entry.model,
        provider,
        vendor: entry.vendor ?? entry.provider,
        ...(entry.price === undefined ? {} : { price: entry.price }),
        ...(entry.capabilities === undefined ? {} : { capabilities: entry.capabilities })
      })
    }
    return {
      text: routes.text,
      image: routes.image,
      video: routes.video,
      fallback: definedOnly(file.fallback),
      load: definedOnly(file.load),
      ...(file.cacheTtl === undefined ? {} : { cacheTtl: file.cacheTtl })
    }
  })
