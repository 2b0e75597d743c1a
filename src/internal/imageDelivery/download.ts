/**
 * Downloading a generated image right after generation (providers' image
 * URLs expire, e.g. after an hour), as bytes, with a size bound, a time-out and a few quick retries of
 * transient failures. The provider's key is never sent to the file URL.
 *
 * @internal
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Clock, Duration, Effect, Schedule } from "effect"
import { boundBody, classifyResponse, classifyTransportError } from "../../Classification.js"
import { HardFailure, isRetryable } from "../../Failure.js"
import { decodeBase64, sniffImageType } from "../adapter.js"
import { readBounded } from "../http.js"

/** @internal */
export interface DownloadSettings {
  readonly maxBytes: number
  readonly timeout: Duration.Duration
  /** Extra attempts after a transient failure (network, time-out, 5xx, 429). */
  readonly retries: number
}

/** Who the image belongs to, for failures. @internal */
export interface DownloadContext {
  readonly provider: string
  readonly model: string
  /** "image 2 of 3", for messages. */
  readonly label: string
}

/** @internal */
export interface Downloaded {
  readonly bytes: Uint8Array
  readonly mimeType: string
}

/**
 * A URL fit for messages: pre-signed query strings (signatures, expiry) are
 * cut off.
 *
 * @internal
 */
export const displayUrl = (url: string): string => {
  if (url.startsWith("data:")) return `${url.slice(0, Math.max(5, url.indexOf(",") + 1))}…`
  try {
    const parsed = new URL(url)
    return `${parsed.origin}${parsed.pathname}${parsed.search.length > 0 ? "?…" : ""}`
  } catch {
    return url.length > 80 ? `${url.slice(0, 80)}…` : url
  }
}

const failure = (
  ctx: DownloadContext,
  reason: HardFailure["reason"],
  message: string,
  extra: { readonly status?: number | undefined; readonly code?: string | undefined; readonly rawBody?: string | undefined } = {}
) =>
  new HardFailure({
    reason,
    provider: ctx.provider,
    model: ctx.model,
    message: `${ctx.label}: ${message}`,
    ...(extra.status === undefined ? {} : { status: extra.status }),
    ...(extra.code === undefined ? {} : { code: extra.code }),
    ...(extra.rawBody === undefined ? {} : { rawBody: extra.rawBody })
  })

const mimeOf = (bytes: Uint8Array, contentType: string | undefined): string | undefined => {
  const sniffed = sniffImageType(bytes)
  if (sniffed !== undefined) return sniffed
  const declared = contentType?.split(";")[0]?.trim().toLowerCase()
  return declared !== undefined && declared.startsWith("image/") ? declared : undefined
}

/** One GET of the file. */
const fetchOnce = (
  client: HttpClient.HttpClient,
  url: string,
  ctx: DownloadContext,
  settings: DownloadSettings
): Effect.Effect<Downloaded, HardFailure> =>
  Effect.gen(function*() {
    const shown = displayUrl(url)
    // scoped: a body left unread (too large, error) is aborted when the
    // download ends instead of holding the connection until GC
    const response = yield* HttpClient.withScope(client).execute(HttpClientRequest.get(url).pipe(HttpClientRequest.accept("image/*"))).pipe(
      Effect.mapError((error) => {
        const classified = classifyTransportError(error.cause ?? error, ctx)
        return failure(ctx, classified.reason, `downloading ${shown} failed: ${classified.message}`, { code: classified.code })
      })
    )
    const status = response.status
    const headers = response.headers as Readonly<Record<string, string>>
    const declared = Number(headers["content-length"])
    if (status >= 200 && status < 300 && Number.isFinite(declared) && declared > settings.maxBytes) {
      return yield* failure(ctx, "ServerError", `the image at ${shown} is ${declared} bytes, over the ${settings.maxBytes}-byte limit`, {
        status,
        code: "image_too_large"
      })
    }
    const bytes = yield* readBounded(response.stream, settings.maxBytes).pipe(
      Effect.mapError((e) =>
        e._tag === "TooLarge"
          ? failure(ctx, "ServerError", `the image at ${shown} is over the ${settings.maxBytes}-byte limit`, { status, code: "image_too_large" })
          : failure(ctx, classifyTransportError(e.error, ctx).reason, `connection lost while downloading ${shown}: ${classifyTransportError(e.error, ctx).message}`, { status })
      )
    )
    if (status < 200 || status >= 300) {
      const now = yield* Clock.currentTimeMillis
      const classified = classifyResponse({ status, headers, body: bytes, provider: ctx.provider, model: ctx.model, now })
      if (status === 403 || status === 404 || status === 410) {
        // No key is sent to a file URL: a refusal here means the pre-signed
        // URL expired or the file is gone, not that the account is unauthorised.
        return yield* failure(
          ctx,
          "NotFound",
          `the image URL ${shown} answered HTTP ${status} (${classified.message}): it expired or was removed before it was downloaded; generate again (image URLs expire: download right after generation)`,
          { status, code: "url_expired", rawBody: classified.rawBody }
        )
      }
      return yield* new HardFailure({ ...classified, message: `${ctx.label}: downloading ${shown} failed: ${classified.message}` })
    }
    const mimeType = mimeOf(bytes, headers["content-type"])
    if (mimeType === undefined) {
      return yield* failure(
        ctx,
        "ServerError",
        `${shown} did not return an image (content-type ${headers["content-type"] ?? "none"}, ${bytes.byteLength} bytes)`,
        { status, code: "unexpected_response", rawBody: boundBody(new TextDecoder().decode(bytes.slice(0, 4096))) }
      )
    }
    return { bytes, mimeType }
  }).pipe(
    Effect.scoped,
    Effect.timeoutFail({
      duration: settings.timeout,
      onTimeout: () => failure(ctx, "Timeout", `the download of ${displayUrl(url)} did not finish within ${Duration.format(settings.timeout)}`)
    })
  )

/** Worth another GET: the network, a time-out, a 5xx or 429 of the file server; not a file that is too large or not an image. */
const transient = (failure: HardFailure): boolean =>
  isRetryable(failure) && failure.code !== "image_too_large" && failure.code !== "unexpected_response"

/**
 * Download an image URL (or decode a `data:` URL) to bytes. Transient
 * failures are retried `settings.retries` times with a short exponential
 * backoff on the Effect clock; an expired URL (403/404/410) is not.
 *
 * @internal
 */
export const download = (
  client: HttpClient.HttpClient,
  url: string,
  ctx: DownloadContext,
  settings: DownloadSettings
): Effect.Effect<Downloaded, HardFailure> => {
  if (url.startsWith("data:")) {
    const comma = url.indexOf(",")
    const meta = comma < 0 ? "" : url.slice(5, comma)
    const bytes = comma < 0 || !meta.endsWith(";base64") ? undefined : decodeBase64(url.slice(comma + 1))
    const mimeType = bytes === undefined ? undefined : mimeOf(bytes, meta.slice(0, -";base64".length))
    return bytes === undefined || mimeType === undefined
      ? Effect.fail(failure(ctx, "ServerError", `${displayUrl(url)} is not a base64 image data URL`, { code: "unexpected_response" }))
      : Effect.succeed({ bytes, mimeType })
  }
  if (!/^https?:\/\//i.test(url)) {
    return Effect.fail(failure(ctx, "ServerError", `the provider returned an image URL that is not http(s): ${displayUrl(url)}`, { code: "unexpected_response" }))
  }
  return fetchOnce(client, url, ctx, settings).pipe(
    Effect.retry({
      schedule: Schedule.exponential(Duration.millis(500)),
      times: settings.retries,
      while: transient
    })
  )
}
