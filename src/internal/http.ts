/**
 * One HTTP exchange with a provider, classified: transport failures become
 * `Network`/`Timeout`, non-2xx responses go through `classifyResponse`, bodies
 * are read with a size bound, and 200 bodies are decoded with a Schema whose
 * errors name the offending field.
 *
 * @internal
 */
import { Headers, type HttpClient, HttpClientRequest, type HttpClientResponse } from "@effect/platform"
import { Clock, Duration, Effect, Either, type ParseResult, type Redacted, Schema, Stream } from "effect"
import { boundBody, classifyResponse, classifyTransportError, scrubSecrets } from "../Classification.js"
import { HardFailure } from "../Failure.js"
import { parseErrorBody, squash } from "./errorBody.js"
import { timeoutFail } from "./timeout.js"

/** Decoding without `stream` keeps no state between calls: one decoder serves every response. */
const utf8 = new TextDecoder("utf-8")
import { formatParseError } from "./formatError.js"

/** @internal */
export interface CallContext {
  readonly provider: string
  readonly model: string
  readonly secrets: ReadonlyArray<Redacted.Redacted>
  /** Whole-exchange time-out (request sent → body read). */
  readonly timeout: Duration.Duration
  readonly maxResponseBytes: number
  /** Request headers that carry secrets: redacted in tracing spans. */
  readonly secretHeaders: ReadonlyArray<string>
}

/**
 * Headers that carry credentials with some provider. `@effect/platform`
 * redacts `authorization`, `cookie` and `x-api-key` in spans by default, but
 * not Google's `x-goog-api-key` or Azure's `api-key`.
 *
 * @internal
 */
export const SECRET_HEADERS: ReadonlyArray<string> = ["authorization", "proxy-authorization", "x-api-key", "x-goog-api-key", "api-key"]

/** @internal */
export interface RawResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly text: string
  readonly requestId: string | undefined
}

/**
 * The request id a response's headers carry, scrubbed: a provider or a proxy
 * can put anything there, the key included, and the id is shown and logged.
 */
const requestIdOf = (ctx: CallContext, headers: Readonly<Record<string, string>>): string | undefined => {
  const id = headers["x-request-id"] ?? headers["request-id"] ?? headers["openai-request-id"] ?? headers["x-goog-request-id"]
  return id === undefined ? undefined : scrubSecrets(id, ctx.secrets)
}

/** @internal */
export const hardFailure = (
  ctx: CallContext,
  reason: HardFailure["reason"],
  message: string,
  extra: Partial<Pick<HardFailure, "status" | "code" | "requestId" | "rawBody" | "param">> = {}
): HardFailure =>
  new HardFailure({
    reason,
    provider: ctx.provider,
    model: ctx.model,
    message: scrubSecrets(message, ctx.secrets),
    ...Object.fromEntries(
      Object.entries(extra)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, typeof v === "string" ? scrubSecrets(v, ctx.secrets) : v])
    )
  })

/**
 * Read a body into one buffer, failing as soon as it grows past `maxBytes`
 * (nothing more is buffered).
 *
 * @internal
 */
export const readBounded = (
  stream: Stream.Stream<Uint8Array, unknown>,
  maxBytes: number
): Effect.Effect<Uint8Array, { readonly _tag: "Transport"; readonly error: unknown } | { readonly _tag: "TooLarge"; readonly size: number }> =>
  Effect.suspend(() => {
    let size = 0
    const chunks: Array<Uint8Array> = []
    return stream.pipe(
      Stream.mapError((error) => ({ _tag: "Transport" as const, error })),
      Stream.runForEachChunk((chunk) => {
        for (const piece of chunk) {
          size += piece.byteLength
          if (size > maxBytes) return Effect.fail({ _tag: "TooLarge" as const, size })
          chunks.push(piece)
        }
        return Effect.void
      }),
      Effect.map(() => {
        const bytes = new Uint8Array(size)
        let offset = 0
        for (const piece of chunks) {
          bytes.set(piece, offset)
          offset += piece.byteLength
        }
        return bytes
      })
    )
  })

const readBytes = (
  ctx: CallContext,
  response: HttpClientResponse.HttpClientResponse
): Effect.Effect<Uint8Array, HardFailure> => {
  const status = response.status
  const headers = response.headers as Readonly<Record<string, string>>
  const declared = Number(headers["content-length"])
  if (Number.isFinite(declared) && declared > ctx.maxResponseBytes) {
    // not a byte more is buffered, and the body is cancelled: left unread, the
    // connection would stay open until the response happened to be collected
    return Effect.zipRight(
      Effect.ignore(Stream.runDrain(Stream.take(response.stream, 1))),
      Effect.fail(
        hardFailure(ctx, "ServerError", `response body of ${declared} bytes is over the ${ctx.maxResponseBytes}-byte limit`, {
          status,
          requestId: requestIdOf(ctx, headers)
        })
      )
    )
  }
  const lost = (error: unknown) =>
    new HardFailure({
      ...classifyTransportError(error, ctx),
      message: `connection lost while reading the HTTP ${status} response body: ${classifyTransportError(error, ctx).message}`,
      status,
      ...omitUndefined({ requestId: requestIdOf(ctx, headers) })
    })
  // A declared length within the limit bounds the body (HTTP/1.1 reads exactly
  // that many bytes): read it in one go. Otherwise read chunk by chunk, stopping
  // as soon as the limit is passed.
  if (Number.isSafeInteger(declared) && declared >= 0) {
    return Effect.mapError(
      Effect.map(response.arrayBuffer, (buffer) => new Uint8Array(buffer)),
      (error) => lost(error.cause ?? error)
    )
  }
  return readBounded(response.stream, ctx.maxResponseBytes).pipe(
    Effect.mapError((e) =>
      e._tag === "TooLarge"
        ? hardFailure(ctx, "ServerError", `response body is over the ${ctx.maxResponseBytes}-byte limit`, {
          status,
          requestId: requestIdOf(ctx, headers)
        })
        : lost(e.error)
    )
  )
}

/**
 * Send a request and read the body as bytes (a video, a file). A non-2xx
 * answer is classified like any other (its body read as text).
 *
 * @internal
 */
export const sendForBytes = (
  client: HttpClient.HttpClient,
  request: HttpClientRequest.HttpClientRequest,
  ctx: CallContext
): Effect.Effect<{ readonly status: number; readonly headers: Readonly<Record<string, string>>; readonly bytes: Uint8Array }, HardFailure> =>
  Effect.gen(function*() {
    const response = yield* client.execute(request).pipe(
      Effect.locallyWith(Headers.currentRedactedNames, (names) => [...names, ...SECRET_HEADERS, ...ctx.secretHeaders]),
      Effect.mapError((error) =>
        error._tag === "RequestError" && error.reason !== "Transport"
          ? hardFailure(ctx, "BadRequest", `could not build the request: ${error.message}`)
          : classifyTransportError(error.cause ?? error, ctx)
      )
    )
    const headers = response.headers as Readonly<Record<string, string>>
    const bytes = yield* readBytes(ctx, response)
    if (response.status < 200 || response.status >= 300) {
      const now = yield* Clock.currentTimeMillis
      return yield* Effect.fail(classifyResponse({
        status: response.status,
        headers,
        body: utf8.decode(bytes),
        provider: ctx.provider,
        model: ctx.model,
        now,
        secrets: ctx.secrets,
        url: request.url
      }))
    }
    return { status: response.status, headers, bytes }
  }).pipe(
    (exchange) => timeoutFail(exchange, ctx.timeout, () => hardFailure(ctx, "Timeout", `no complete response within ${Duration.format(ctx.timeout)}`))
  )

/**
 * Send a request and read the whole response. Fails with a classified
 * `HardFailure` for transport errors, time-outs and non-2xx statuses.
 *
 * @internal
 */
export const send = (
  client: HttpClient.HttpClient,
  request: HttpClientRequest.HttpClientRequest,
  ctx: CallContext
): Effect.Effect<RawResponse, HardFailure> =>
  Effect.map(sendForBytes(client, request, ctx), ({ bytes, headers, status }) => ({
    status,
    headers,
    text: utf8.decode(bytes),
    requestId: requestIdOf(ctx, headers)
  }))

/**
 * Send a request with a JSON body. A body that cannot be serialised (a BigInt
 * or a cycle in tool parameters) is the caller's `BadRequest`, not a throw.
 *
 * @internal
 */
export const sendJson = (
  client: HttpClient.HttpClient,
  request: HttpClientRequest.HttpClientRequest,
  body: unknown,
  ctx: CallContext
): Effect.Effect<RawResponse, HardFailure> =>
  HttpClientRequest.bodyJson(request, body).pipe(
    Effect.mapError((error) =>
      hardFailure(ctx, "BadRequest", `the request body cannot be sent as JSON: ${error.reason._tag === "JsonError" ? String(error.reason.error) : error.reason._tag}`, {
        code: "invalid_request_body"
      })
    ),
    Effect.flatMap((withBody) => send(client, withBody, ctx))
  )

/**
 * A 200 whose body is an error envelope (`{"error": {...}}`, as some gateways
 * send): classified like an error response, keeping the provider's words.
 */
const errorEnvelope = (json: unknown, raw: RawResponse, ctx: CallContext): HardFailure | undefined => {
  if (typeof json !== "object" || json === null || Array.isArray(json) || !("error" in json)) return undefined
  const error = (json as { readonly error: unknown }).error
  if (error === null || error === undefined || error === false) return undefined
  const embedded = parseErrorBody(raw.text).bodyStatus
  const classified = classifyResponse({
    status: embedded !== undefined && embedded >= 400 ? embedded : 500,
    headers: raw.headers,
    body: raw.text,
    provider: ctx.provider,
    model: ctx.model,
    secrets: ctx.secrets
  })
  return new HardFailure({
    ...classified,
    status: raw.status,
    message: `HTTP ${raw.status} carrying an error: ${classified.message}`
  })
}

/** The path of the first mismatch in a parse issue (`choices[0].message`), found without formatting any value. */
const firstPath = (issue: ParseResult.ParseIssue): string => {
  let path = ""
  let current: ParseResult.ParseIssue | undefined = issue
  for (let steps = 0; current !== undefined && steps < 64; steps++) {
    switch (current._tag) {
      case "Pointer":
        for (const key of Array.isArray(current.path) ? current.path : [current.path]) {
          path += typeof key === "number" ? `[${key}]` : path.length === 0 ? String(key) : `.${String(key)}`
        }
        current = current.issue
        break
      case "Composite":
        current = Array.isArray(current.issues) ? current.issues[0] : current.issues as ParseResult.ParseIssue
        break
      case "Refinement":
      case "Transformation":
        current = current.issue
        break
      default:
        current = undefined
    }
  }
  return path.length === 0 ? "(root)" : path
}

/**
 * Why a body does not match its schema, in a few hundred characters. Only the
 * first mismatch is decoded (a body of 20 000 wrong items would otherwise take
 * minutes to describe), and a value nested too deeply to print (a 10 000-deep
 * array, where the formatter runs out of stack) is named by its path only.
 */
const describeMismatch = (error: ParseResult.ParseError): string => {
  try {
    return squash(formatParseError(error).replace(/\n/g, "; "), 600)
  } catch {
    return `${firstPath(error.issue)}: a value nested too deeply to show`
  }
}

/**
 * Decode a 2xx JSON body. Malformed JSON or an unexpected shape is the
 * provider's fault (as a 500 is): `ServerError`, with the
 * offending field named and the raw body kept.
 *
 * @internal
 */
export const decodeJson = <A, I>(
  schema: Schema.Schema<A, I, never>,
  raw: RawResponse,
  ctx: CallContext,
  /**
   * For schemas whose fields are all optional (Gemini): does this body look
   * like an answer? If not and it holds an `error`, it is an error envelope.
   */
  looksLikeAnswer?: (json: Readonly<Record<string, unknown>>) => boolean
): Effect.Effect<A, HardFailure> => {
  // only on a failure, and cut to its limit before it is scrubbed: a body can be megabytes of base64
  const extra = () => ({ status: raw.status, requestId: raw.requestId, rawBody: boundBody(raw.text) })
  let json: unknown
  try {
    json = JSON.parse(raw.text)
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    return Effect.fail(
      hardFailure(ctx, "ServerError", `malformed JSON in an HTTP ${raw.status} response (${reason}): ${squash(raw.text, 120)}`, {
        ...extra(),
        code: "malformed_response"
      })
    )
  }
  if (looksLikeAnswer !== undefined && typeof json === "object" && json !== null && !Array.isArray(json) && !looksLikeAnswer(json as Record<string, unknown>)) {
    const envelope = errorEnvelope(json, raw, ctx)
    if (envelope !== undefined) return Effect.fail(envelope)
  }
  let decoded: Either.Either<A, ParseResult.ParseError>
  try {
    decoded = Schema.decodeUnknownEither(schema, { errors: "first", onExcessProperty: "ignore" })(json)
  } catch {
    // The decoder itself can run out of stack: a union looks a discriminating
    // literal up by the value's text, and a 10 000-deep array has none.
    return Effect.fail(
      errorEnvelope(json, raw, ctx) ??
        hardFailure(ctx, "ServerError", `unexpected response shape in an HTTP ${raw.status} response: a value nested too deeply to decode`, {
          ...extra(),
          code: "unexpected_response"
        })
    )
  }
  return Either.match(decoded, {
    onLeft: (error) =>
      Effect.fail(
        errorEnvelope(json, raw, ctx) ??
        hardFailure(
          ctx,
          "ServerError",
          `unexpected response shape in an HTTP ${raw.status} response: ${describeMismatch(error)}`,
          { ...extra(), code: "unexpected_response" }
        )
      ),
    onRight: Effect.succeed
  })
}

/**
 * A value as one URL path segment, or `undefined` when it cannot be one: a
 * string that is not well-formed UTF-16 (a lone surrogate, which JSON text
 * can carry as `"\ud800"`) makes `encodeURIComponent` throw.
 *
 * @internal
 */
export const pathSegment = (value: string): string | undefined => {
  try {
    return encodeURIComponent(value)
  } catch {
    return undefined
  }
}

/**
 * Join a base URL and a path, tolerating a trailing slash or `/v1` on the base.
 *
 * @internal
 */
export const joinUrl = (baseUrl: string, path: string): string => {
  const base = baseUrl.replace(/\/+$/, "").replace(/\/v1$/, "").replace(/\/v1beta$/, "")
  return `${base}${path}`
}

/** @internal */
export const omitUndefined = <A extends Record<string, unknown>>(a: A): { [K in keyof A]: Exclude<A[K], undefined> } =>
  Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined)) as { [K in keyof A]: Exclude<A[K], undefined> }
