/**
 * What the HTTP adapters share: options with their defaults, and turning
 * options into a per-call context.
 *
 * @internal
 */
import { Duration, type Redacted } from "effect"
import type { CallContext } from "./http.js"

/** SPEC §8: read time-out for image generation. @internal */
export const DEFAULT_TIMEOUT = Duration.seconds(180)
/** Large enough for several base64 images; bounded so a runaway body cannot exhaust memory. @internal */
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024

/** @internal */
export interface ResolvedOptions {
  readonly name: string
  readonly baseUrl: string
  readonly apiKey: Redacted.Redacted
  readonly timeout: Duration.Duration
  readonly maxResponseBytes: number
  readonly headers: Readonly<Record<string, string>>
}

/** @internal */
export const resolve = (
  defaults: { readonly name: string; readonly baseUrl?: string },
  options: {
    readonly name?: string | undefined
    readonly baseUrl?: string | undefined
    readonly apiKey: Redacted.Redacted
    readonly timeout?: Duration.DurationInput | undefined
    readonly maxResponseBytes?: number | undefined
    readonly headers?: Readonly<Record<string, string>> | undefined
  }
): ResolvedOptions => ({
  name: options.name ?? defaults.name,
  baseUrl: options.baseUrl ?? defaults.baseUrl ?? "",
  apiKey: options.apiKey,
  timeout: options.timeout === undefined ? DEFAULT_TIMEOUT : Duration.decode(options.timeout),
  maxResponseBytes: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
  headers: options.headers ?? {}
})

/** @internal */
export const contextFor = (options: ResolvedOptions, model: string): CallContext => ({
  provider: options.name,
  model,
  secrets: [options.apiKey],
  timeout: options.timeout,
  maxResponseBytes: options.maxResponseBytes
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
