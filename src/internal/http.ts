/**
 * One HTTP exchange with a provider, classified: transport failures become
 * `Network`/`Timeout`, non-2xx responses go through `classifyResponse`, bodies
 * are read with a size bound, and 200 bodies are decoded with a Schema whose
 * errors name the offending field.
 *
 * @internal
 */
import { Headers, type HttpClient, HttpClientRequest } from "@effect/platform"
import { Chunk, Clock, Duration, Effect, Either, type Redacted, Schema, Stream } from "effect"
import { boundBody, classifyResponse, classifyTransportError, scrubSecrets } from "../Classification.js"
import { HardFailure } from "../Failure.js"
import { parseErrorBody, squash } from "./errorBody.js"
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

const requestIdOf = (headers: Readonly<Record<string, string>>): string | undefined =>
  headers["x-request-id"] ?? headers["request-id"] ?? headers["openai-request-id"] ?? headers["x-goog-request-id"]

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
  stream.pipe(
    Stream.mapError((error) => ({ _tag: "Transport" as const, error })),
    Stream.runFoldEffect({ size: 0, chunks: Chunk.empty<Uint8Array>() }, (acc, chunk) => {
      const size = acc.size + chunk.byteLength
      return size > maxBytes
        ? Effect.fail({ _tag: "TooLarge" as const, size })
        : Effect.succeed({ size, chunks: Chunk.append(acc.chunks, chunk) })
    }),
    Effect.map(({ chunks, size }) => {
      const bytes = new Uint8Array(size)
      let offset = 0
      for (const chunk of chunks) {
        bytes.set(chunk, offset)
        offset += chunk.byteLength
      }
      return bytes
    })
  )

const readBytes = (
  ctx: CallContext,
  status: number,
  headers: Readonly<Record<string, string>>,
  stream: Stream.Stream<Uint8Array, unknown>
): Effect.Effect<Uint8Array, HardFailure> => {
  const declared = Number(headers["content-length"])
  if (Number.isFinite(declared) && declared > ctx.maxResponseBytes) {
    return Effect.fail(
      hardFailure(ctx, "ServerError", `response body of ${declared} bytes is over the ${ctx.maxResponseBytes}-byte limit`, {
        status,
        requestId: requestIdOf(headers)
      })
    )
  }
  return readBounded(stream, ctx.maxResponseBytes).pipe(
    Effect.mapError((e) =>
      e._tag === "TooLarge"
        ? hardFailure(ctx, "ServerError", `response body is over the ${ctx.maxResponseBytes}-byte limit`, {
          status,
          requestId: requestIdOf(headers)
        })
        : new HardFailure({
          ...classifyTransportError(e.error, ctx),
          message: `connection lost while reading the HTTP ${status} response body: ${classifyTransportError(e.error, ctx).message}`,
          status,
          ...(requestIdOf(headers) === undefined ? {} : { requestId: requestIdOf(headers) })
        })
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
    const bytes = yield* readBytes(ctx, response.status, headers, response.stream)
    if (response.status < 200 || response.status >= 300) {
      const now = yield* Clock.currentTimeMillis
      return yield* Effect.fail(classifyResponse({
        status: response.status,
        headers,
        body: new TextDecoder("utf-8").decode(bytes),
        provider: ctx.provider,
        model: ctx.model,
        now,
        secrets: ctx.secrets
      }))
    }
    return { status: response.status, headers, bytes }
  }).pipe(
    Effect.timeoutFail({
      duration: ctx.timeout,
      onTimeout: () => hardFailure(ctx, "Timeout", `no complete response within ${Duration.format(ctx.timeout)}`)
    })
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
    text: new TextDecoder("utf-8").decode(bytes),
    requestId: requestIdOf(headers)
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

/**
 * Decode a 2xx JSON body. Malformed JSON or an unexpected shape is the
 * provider's fault (SPEC §1: "500 … malformed body"): `ServerError`, with the
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
  const extra = { status: raw.status, requestId: raw.requestId, rawBody: boundBody(scrubSecrets(raw.text, ctx.secrets)) }
  let json: unknown
  try {
    json = JSON.parse(raw.text)
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    return Effect.fail(
      hardFailure(ctx, "ServerError", `malformed JSON in an HTTP ${raw.status} response (${reason}): ${squash(scrubSecrets(raw.text, ctx.secrets), 120)}`, {
        ...extra,
        code: "malformed_response"
      })
    )
  }
  if (looksLikeAnswer !== undefined && typeof json === "object" && json !== null && !Array.isArray(json) && !looksLikeAnswer(json as Record<string, unknown>)) {
    const envelope = errorEnvelope(json, raw, ctx)
    if (envelope !== undefined) return Effect.fail(envelope)
  }
  return Either.match(Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "ignore" })(json), {
    onLeft: (error) =>
      Effect.fail(
        errorEnvelope(json, raw, ctx) ??
        hardFailure(
          ctx,
          "ServerError",
          `unexpected response shape in an HTTP ${raw.status} response: ${squash(formatParseError(error).replace(/\n/g, "; "), 600)}`,
          { ...extra, code: "unexpected_response" }
        )
      ),
    onRight: Effect.succeed
  })
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
