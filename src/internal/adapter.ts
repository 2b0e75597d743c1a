/**
 * What the HTTP adapters share: options with their defaults and validation,
 * and turning options into a per-call context.
 *
 * @internal
 */
import { FetchHttpClient, HttpClient } from "@effect/platform"
import { Duration, Effect, Either, Option, Redacted } from "effect"
import { InvalidProviderOptions } from "../Provider.js"
import type { CallContext } from "./http.js"

/**
 * Build a result class from values already decoded from the wire (or checked
 * otherwise) without validating them again: a Schema class constructor's own
 * check costs tens of microseconds, more than the rest of a call's decoding.
 *
 * @internal
 */
export const trusted = <Fields, C>(Class: new(fields: Fields, disableValidation: true) => C, fields: Fields): C =>
  new Class(fields, true)

/** SPEC §8: read time-out for image generation. @internal */
export const DEFAULT_TIMEOUT = Duration.seconds(180)
/** Large enough for several base64 images; bounded so a runaway body cannot exhaust memory. @internal */
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024

/** The options every HTTP adapter takes. @internal */
export interface HttpAdapterOptions {
  readonly name?: string | undefined
  readonly baseUrl?: string | undefined
  readonly apiKey: Redacted.Redacted
  readonly timeout?: Duration.DurationInput | undefined
  readonly maxResponseBytes?: number | undefined
  readonly headers?: Readonly<Record<string, string | Redacted.Redacted>> | undefined
  readonly propagateTracing?: boolean | undefined
}

/** @internal */
export interface ResolvedOptions {
  readonly name: string
  readonly baseUrl: string
  readonly apiKey: Redacted.Redacted
  readonly timeout: Duration.Duration
  readonly maxResponseBytes: number
  /** Header values to send (secret ones unwrapped only here). */
  readonly headers: Readonly<Record<string, string>>
  /** The key and every `Redacted` header value: scrubbed from failures. */
  readonly secrets: ReadonlyArray<Redacted.Redacted>
  /** Names of headers whose values are secret: redacted in spans. */
  readonly secretHeaders: ReadonlyArray<string>
  /** Send `traceparent` / `b3` to the provider. */
  readonly propagateTracing: boolean
}

/**
 * Validate and complete adapter options.
 *
 * @internal
 */
export const resolve = (
  defaults: { readonly name: string; readonly baseUrl?: string },
  options: HttpAdapterOptions
): Either.Either<ResolvedOptions, InvalidProviderOptions> => {
  const name = options.name ?? defaults.name
  const invalid = (field: string, message: string) =>
    Either.left(new InvalidProviderOptions({ provider: name, field, message }))
  if (name.trim().length === 0) return invalid("name", "must not be empty")
  const baseUrl = options.baseUrl ?? defaults.baseUrl
  if (baseUrl === undefined) return invalid("baseUrl", "is required")
  let url: URL
  try {
    url = new URL(baseUrl)
  } catch {
    return invalid("baseUrl", `is not a URL: ${JSON.stringify(baseUrl)}`)
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return invalid("baseUrl", `must be http(s), got ${url.protocol}`)
  const key = Redacted.value(options.apiKey)
  if (typeof key !== "string" || key.trim().length === 0) return invalid("apiKey", "must not be empty")
  let timeout: Duration.Duration
  try {
    timeout = Duration.decode(options.timeout ?? DEFAULT_TIMEOUT)
  } catch {
    return invalid("timeout", `is not a duration: ${JSON.stringify(options.timeout)}`)
  }
  if (!Duration.isFinite(timeout) || Duration.toMillis(timeout) <= 0) return invalid("timeout", "must be a positive, finite duration")
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES
  if (!Number.isSafeInteger(maxResponseBytes) || maxResponseBytes <= 0) {
    return invalid("maxResponseBytes", `must be a positive integer, got ${maxResponseBytes}`)
  }
  const propagateTracing = options.propagateTracing ?? false
  if (typeof propagateTracing !== "boolean") return invalid("propagateTracing", `must be true or false, got ${JSON.stringify(propagateTracing)}`)
  const headers: Record<string, string> = {}
  const secrets: Array<Redacted.Redacted> = [options.apiKey]
  const secretHeaders: Array<string> = []
  for (const [header, value] of Object.entries(options.headers ?? {})) {
    if (Redacted.isRedacted(value)) {
      headers[header] = String(Redacted.value(value))
      secrets.push(value)
      secretHeaders.push(header.toLowerCase())
    } else {
      headers[header] = value
    }
  }
  return Either.right({ name, baseUrl, apiKey: options.apiKey, timeout, maxResponseBytes, headers, secrets, secretHeaders, propagateTracing })
}

/**
 * The client an adapter sends with: the one in context, told
 *
 * - whether to put the caller's trace context (`traceparent`, `b3`) on
 *   requests: a provider is a third party, and trace ids say which requests
 *   belong together and where they came from, so they go only when asked
 *   for (spans are still recorded locally either way);
 * - never to follow a redirect. Undici's and Node's clients do not; `fetch`
 *   does unless told otherwise, and would send the request (and
 *   `x-goog-api-key`, which `fetch` does not strip across origins) wherever a
 *   `Location` points. A 3xx comes back as it is and is classified.
 *
 * @internal
 */
export const providerClient = (client: HttpClient.HttpClient, options: ResolvedOptions): HttpClient.HttpClient =>
  client.pipe(
    HttpClient.transformResponse((response) =>
      Effect.flatMap(Effect.serviceOption(FetchHttpClient.RequestInit), (init) =>
        Effect.provideService(response, FetchHttpClient.RequestInit, { ...Option.getOrElse(init, () => ({})), redirect: "manual" }))
    ),
    HttpClient.withTracerPropagation(options.propagateTracing)
  )

/** @internal */
export const contextFor = (options: ResolvedOptions, model: string): CallContext => ({
  provider: options.name,
  model,
  secrets: options.secrets,
  timeout: options.timeout,
  maxResponseBytes: options.maxResponseBytes,
  secretHeaders: options.secretHeaders
})

/** Sniff an image's type from its first bytes. @internal */
export const sniffImageType = (bytes: Uint8Array): string | undefined => {
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return "image/png"
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return "image/jpeg"
  if (bytes[0] === 0x52 && bytes[1] === 0x49 && bytes[2] === 0x46 && bytes[3] === 0x46 && bytes[8] === 0x57) return "image/webp"
  return undefined
}

/** Decode standard or URL-safe base64; `undefined` when it is not base64. @internal */
export const decodeBase64 = (b64: string): Uint8Array | undefined => {
  const clean = b64.replace(/\s+/g, "")
  if (clean.length === 0 || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(clean)) return undefined
  return new Uint8Array(Buffer.from(clean, clean.includes("-") || clean.includes("_") ? "base64url" : "base64"))
}
