/**
 * Fuzz the classifier and the adapters' decoding.
 *
 * Arbitrary responses — status line, headers, body bytes (the real wire shapes,
 * the same shapes mutated halfway, huge numbers, 10 000-deep JSON, invalid
 * UTF-8, proxies' HTML pages, empty and truncated bodies, broken framing) —
 * are sent by a raw TCP server on 127.0.0.1 to the real adapters over real
 * HTTP, and given to `classifyResponse` directly. Every outcome must be a
 * success or one typed failure (hard, soft or silent) naming the provider, the
 * model and the problem, keeping the HTTP status when there was one: no
 * defect, no interruption, nothing thrown.
 *
 * Hostile input is part of it: strings anywhere in the wire shapes, and the
 * request-id headers, carry pieces of the API key spelled every way a hostile
 * provider could (escaped, upper-cased, percent-encoded, HTML references,
 * base64), and no outcome — failure or result — may show any of them.
 *
 * `npm test` sends 5 000 responses to `classifyResponse` and 500 to each of
 * the five adapter operations (about 15 s); the soak sets `FUZZ_RUNS` (e.g.
 * `FUZZ_RUNS=100000`) for that many per target. Both print the tally of
 * outcomes (successes, failures by category and reason, time spent).
 */
import { NodeHttpClient } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, FastCheck as fc, ManagedRuntime, Redacted } from "effect"
import * as Net from "node:net"
import { classifyResponse, type HeadersInput } from "../src/Classification.js"
import { category, type GenerationFailure, HardFailure, isGenerationFailure } from "../src/Failure.js"
import * as Gemini from "../src/Gemini.js"
import { ImageRequest } from "../src/ImageGeneration.js"
import { base64, png } from "../src/internal/simulator/assets.js"
import * as OpenAICompatible from "../src/OpenAICompatible.js"
import * as OutputValidator from "../src/OutputValidator.js"
import type { ProviderService } from "../src/Provider.js"
import { Message, TextRequest } from "../src/TextGeneration.js"
import { spelledPiece } from "./support/hostileProvider.js"
import { leaksBySurface, show } from "./support/leaks.js"
import { HttpLive, serveFixed, serveJson } from "./support/simulator.js"

/** Responses per target: `FUZZ_RUNS` for a soak, else the quick count given. */
const FUZZ_RUNS = Number(process.env["FUZZ_RUNS"] ?? "")
const runs = (quick: number): number => (Number.isSafeInteger(FUZZ_RUNS) && FUZZ_RUNS > 0 ? FUZZ_RUNS : quick)
const SOAK = Number.isSafeInteger(FUZZ_RUNS) && FUZZ_RUNS > 0
/** A test's time limit: generous for a soak (about 20 ms a response), else 60 s. */
const limit = (quick: number): number => (SOAK ? Math.max(60_000, runs(quick) * 20) : 60_000)

// no run of digits: numbers in the answers must not look like a piece of it
const KEY = "sk-fuzz-secret-key-Qx7Wm2Kp9Ln4"

// ---------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------

const deep = (n: number, open: string, close: string) => open.repeat(n) + close.repeat(n)

/**
 * JSON text that `JSON.stringify` cannot produce, spliced in where a mutation
 * leaves a marker: numbers past a double, 10 000-deep nesting, a 200 000
 * character string, lone surrogates, an array of 20 000 wrong items.
 */
const RAW = [
  "1e309",
  "-1e309",
  "1e-400",
  "123456789012345678901234567890123456789",
  "-0",
  "9007199254740993",
  deep(10_000, "[", "]"),
  deep(1_000, "[", "]"),
  `${"{\"a\":".repeat(10_000)}null${"}".repeat(10_000)}`,
  JSON.stringify("x".repeat(200_000)),
  "\"\\ud800\"",
  "\"a\\udfffb\\ud800\"",
  "\"\\u0000\"",
  `[${Array.from({ length: 20_000 }, () => "1").join(",")}]`,
  `[${Array.from({ length: 5_000 }, () => "{}").join(",")}]`
] as const
const marker = (i: number) => `\u0001RAW${i}\u0001`
const splice = (text: string) => text.replace(/"\\u0001RAW(\d+)\\u0001"/g, (_, i: string) => RAW[Number(i)] ?? "null")

const printable = (max: number) => fc.stringMatching(new RegExp(`^[\\x20-\\x7e]{0,${max}}$`))

const weirdString = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 30 }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "", " ", "\n\t ", "constructor", "__proto__", "toString", "hasOwnProperty", "valueOf", "\ud800", "a\udfffb",
      "stop", "null", "sk-ab***wxyz", `${KEY}`, "AIzaSyD-ABCDEFGH12345678", "The model is overloaded.",
      "Please retry in 34.5s.", "exceeded your current quota", "context_length_exceeded", "(request id: 2025112112345678)"
    )
  },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 20 }) },
  // a hostile provider's echo of the key: a piece of it, spelled any way, among words
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom("", "key ", "Incorrect API key provided: "), spelledPiece(KEY)).map(([before, { spelled }]) => `${before}${spelled}`) }
)
const words = fc.array(fc.constantFrom("the", "kite", "flies", "over", "a", "hill", "42", "positive", "négatif", "🙂"), { minLength: 1, maxLength: 12 })
  .map((ws) => ws.join(" "))
const textArb = fc.oneof({ weight: 3, arbitrary: words }, { weight: 2, arbitrary: weirdString })
const numArb = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -1, 1.5, 1e21, Number.MAX_SAFE_INTEGER, -Number.MAX_VALUE)
)
const idArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom("task_1", "video_abc123", "chatcmpl-9", "a/b?c#d", "../..", "%zz", "\ud800", " ", "") },
  { weight: 2, arbitrary: weirdString }
)
const modelArb = fc.oneof(fc.constantFrom("gpt-4.1-mini", "gemini-2.5-flash", "", "models/x"), weirdString)
const urlArb = fc.oneof(fc.constantFrom("https://cdn.example/v.mp4", "http://127.0.0.1:1/x.png", "", "not a url", "javascript:alert(1)"), weirdString)
const PNG_B64 = base64(png("fuzz"))
const b64Arb = fc.oneof(
  { weight: 3, arbitrary: fc.constant(PNG_B64) },
  { weight: 1, arbitrary: fc.constantFrom("/9j/4AAQSkZJRg==", "UklGRiQAAABXRUJQVlA4", "not base64!!", "====", "YQ", "-_-_") },
  { weight: 1, arbitrary: fc.base64String({ maxLength: 40 }) },
  { weight: 1, arbitrary: weirdString }
)
const nullable = <A>(arb: fc.Arbitrary<A>) => fc.option(arb, { nil: null, freq: 4 })

// ---------------------------------------------------------------------------
// Wire shapes: what the providers really send (error bodies, chat, images, video tasks, Gemini)
// ---------------------------------------------------------------------------

const finishReason = fc.oneof(fc.constantFrom("stop", "length", "content_filter", "tool_calls", "function_call", "", "STOP"), weirdString)
const usage = fc.record({ prompt_tokens: nullable(numArb), completion_tokens: nullable(numArb), total_tokens: nullable(numArb) }, { requiredKeys: [] })
const toolCall = fc.record({
  id: idArb,
  type: fc.constant("function"),
  function: fc.record({ name: weirdString, arguments: fc.oneof(fc.json(), weirdString) })
})
const chatCompletion = fc.record({
  id: idArb,
  object: fc.constant("chat.completion"),
  created: numArb,
  model: modelArb,
  choices: fc.array(
    fc.record({
      index: numArb,
      message: fc.record({
        role: fc.constantFrom("assistant", "user", ""),
        content: nullable(textArb),
        refusal: nullable(weirdString),
        tool_calls: nullable(fc.array(toolCall, { maxLength: 2 }))
      }, { requiredKeys: ["role"] }),
      finish_reason: nullable(finishReason)
    }, { requiredKeys: ["message"] }),
    { maxLength: 2 }
  ),
  usage: nullable(usage)
}, { requiredKeys: ["choices"] })

const imagesResponse = fc.record({
  created: numArb,
  data: fc.array(
    fc.record({ b64_json: nullable(b64Arb), url: nullable(urlArb), revised_prompt: nullable(weirdString) }, { requiredKeys: [] }),
    { maxLength: 3 }
  ),
  output_format: fc.oneof(fc.constantFrom("png", "jpeg", "webp", "gif", ""), weirdString),
  usage: nullable(fc.record({ input_tokens: nullable(numArb), output_tokens: nullable(numArb), total_tokens: nullable(numArb) }, { requiredKeys: [] }))
}, { requiredKeys: ["data"] })

const videoStatus = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      "queued", "in_progress", "completed", "failed", "cancelled", "canceled", "submitted", "processing", "succeed",
      "PENDING", "THROTTLED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED", " completed "
    )
  },
  { weight: 1, arbitrary: fc.constantFrom("constructor", "__proto__", "toString", "valueOf", "hasOwnProperty", "isPrototypeOf", "") },
  { weight: 1, arbitrary: weirdString }
)
const openaiVideo = fc.record({
  id: idArb,
  object: fc.constant("video"),
  status: videoStatus,
  model: modelArb,
  progress: nullable(numArb),
  error: nullable(fc.record({ code: nullable(weirdString), message: nullable(weirdString) }, { requiredKeys: [] }))
}, { requiredKeys: ["id", "object", "status"] })
const klingTask = fc.record({
  code: fc.oneof(fc.constantFrom(0, 1102, 1301), numArb),
  message: weirdString,
  request_id: idArb,
  data: fc.record({
    task_id: idArb,
    task_status: videoStatus,
    task_status_msg: nullable(weirdString),
    task_result: nullable(fc.record({ videos: fc.array(fc.record({ url: urlArb }), { maxLength: 2 }) }, { requiredKeys: [] }))
  }, { requiredKeys: ["task_id", "task_status"] })
}, { requiredKeys: ["code", "data"] })
const runwayTask = fc.record({
  id: idArb,
  status: videoStatus,
  progress: nullable(numArb),
  output: nullable(fc.array(urlArb, { maxLength: 2 })),
  failure: nullable(weirdString),
  failureCode: nullable(weirdString)
}, { requiredKeys: ["id"] })
const videoTask = fc.oneof(openaiVideo, klingTask, runwayTask)

const geminiPart = fc.oneof(
  fc.record({ text: textArb }),
  fc.record({ text: textArb, thought: fc.boolean() }),
  fc.record({ inlineData: fc.record({ mimeType: fc.constantFrom("image/png", "image/jpeg", "", "text/plain"), data: b64Arb }) }),
  fc.record({ functionCall: fc.record({ name: weirdString, args: fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constant(null)) }, { requiredKeys: ["name"] }) })
)
const geminiFinish = fc.oneof(
  fc.constantFrom("STOP", "MAX_TOKENS", "SAFETY", "IMAGE_SAFETY", "PROHIBITED_CONTENT", "RECITATION", "NO_IMAGE", "OTHER", "MALFORMED_FUNCTION_CALL"),
  weirdString
)
const generateContent = fc.record({
  candidates: fc.array(
    fc.record({
      content: fc.record({ parts: fc.array(geminiPart, { maxLength: 3 }), role: fc.constant("model") }, { requiredKeys: [] }),
      finishReason: geminiFinish,
      finishMessage: weirdString,
      index: numArb
    }, { requiredKeys: [] }),
    { maxLength: 2 }
  ),
  promptFeedback: fc.record({
    blockReason: fc.oneof(fc.constantFrom("SAFETY", "OTHER", "BLOCKLIST", "PROHIBITED_CONTENT", "BLOCK_REASON_UNSPECIFIED"), weirdString),
    blockReasonMessage: weirdString
  }, { requiredKeys: [] }),
  usageMetadata: fc.record({ promptTokenCount: numArb, candidatesTokenCount: numArb, totalTokenCount: numArb }, { requiredKeys: [] }),
  modelVersion: modelArb,
  responseId: idArb
}, { requiredKeys: [] })

const googleDetail = fc.oneof(
  fc.record({ "@type": fc.constant("type.googleapis.com/google.rpc.RetryInfo"), retryDelay: fc.oneof(fc.constantFrom("34s", "1.5s", "1e400s", "-5s", "99999999s"), weirdString) }),
  fc.record({
    "@type": fc.constant("type.googleapis.com/google.rpc.QuotaFailure"),
    violations: fc.array(fc.record({ quotaId: fc.oneof(fc.constantFrom("GenerateRequestsPerDayPerProjectPerModel", "PerMinute"), weirdString) }), { maxLength: 2 })
  }),
  fc.record({ "@type": fc.constant("type.googleapis.com/google.rpc.ErrorInfo"), reason: fc.oneof(fc.constantFrom("API_KEY_INVALID", "RATE_LIMIT_EXCEEDED"), weirdString) }),
  fc.jsonValue({ maxDepth: 2 })
)
const errorEnvelope = fc.oneof(
  // OpenAI and the gateways that copy it
  fc.record({
    error: fc.record({
      message: weirdString,
      type: fc.oneof(fc.constantFrom("invalid_request_error", "insufficient_quota", "server_error", "requests", "tokens"), weirdString),
      param: nullable(weirdString),
      code: nullable(fc.oneof(fc.constantFrom("rate_limit_exceeded", "insufficient_quota", "context_length_exceeded", "content_policy_violation", "model_not_found"), weirdString, numArb))
    }, { requiredKeys: [] })
  }),
  // google.rpc.Status, alone or in a one-element array
  fc.record({
    error: fc.record({
      code: fc.oneof(fc.constantFrom(400, 403, 404, 429, 500, 503, 504), numArb),
      message: weirdString,
      status: fc.oneof(fc.constantFrom("UNAVAILABLE", "RESOURCE_EXHAUSTED", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "INTERNAL"), weirdString),
      details: fc.array(googleDetail, { maxLength: 3 })
    }, { requiredKeys: [] })
  }).chain((e) => fc.constantFrom<unknown>(e, [e])),
  // Anthropic
  fc.record({ type: fc.constant("error"), error: fc.record({ type: fc.constantFrom("overloaded_error", "rate_limit_error", "api_error", "invalid_request_error"), message: weirdString }) }),
  // Kling, Runway, FastAPI, OpenRouter's metadata.raw
  fc.record({ code: fc.oneof(fc.constantFrom(1000, 1102, 1301, 1303), numArb), message: weirdString, request_id: idArb }, { requiredKeys: ["code"] }),
  fc.record({ error: weirdString }),
  fc.record({ detail: fc.oneof(weirdString, fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 })) }),
  fc.record({ error: fc.record({ message: weirdString, code: numArb, metadata: fc.record({ raw: fc.oneof(weirdString, fc.json({ maxDepth: 3 })), provider_name: weirdString }) }) }),
  fc.record({ message: weirdString, status: fc.oneof(fc.constantFrom(503, 529), numArb) })
)

// ---------------------------------------------------------------------------
// Mutations: the same shapes, wrong halfway
// ---------------------------------------------------------------------------

type Json = null | boolean | number | string | Array<Json> | { [key: string]: Json }

type Mutation =
  | { readonly op: "delete"; readonly path: ReadonlyArray<number> }
  | { readonly op: "set"; readonly path: ReadonlyArray<number>; readonly value: Json }
  | { readonly op: "raw"; readonly path: ReadonlyArray<number>; readonly raw: number }

const mutation: fc.Arbitrary<Mutation> = fc.tuple(
  fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
  fc.oneof(
    { weight: 2, arbitrary: fc.constant({ op: "delete" as const }) },
    { weight: 3, arbitrary: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom<Json>(null, "", 0, -1, true, [], {}, "null")).map((value) => ({ op: "set" as const, value: value as Json })) },
    { weight: 2, arbitrary: fc.nat({ max: RAW.length - 1 }).map((raw) => ({ op: "raw" as const, raw })) }
  )
).map(([path, m]) => ({ ...m, path }))

const isContainer = (u: Json): u is Array<Json> | { [key: string]: Json } => typeof u === "object" && u !== null

/** Walk `path` (each step picks a child by index modulo the number of children) and change what is there. */
const mutate = (root: Json, m: Mutation): Json => {
  const value = (): Json => (m.op === "raw" ? marker(m.raw) : m.op === "set" ? structuredClone(m.value) : null)
  if (!isContainer(root)) return value()
  let parent: Array<Json> | { [key: string]: Json } = root
  let key: string | number | undefined
  for (const step of m.path) {
    const keys: Array<string | number> = Array.isArray(parent) ? parent.map((_, i) => i) : Object.keys(parent)
    if (keys.length === 0) break
    key = keys[step % keys.length]!
    const child: Json = (parent as Record<string | number, Json>)[key]!
    if (!isContainer(child) || step === m.path[m.path.length - 1]) break
    parent = child
  }
  if (key === undefined) {
    if (!Array.isArray(parent) && m.op !== "delete") parent["extra"] = value()
    return root
  }
  if (m.op === "delete") {
    if (Array.isArray(parent)) parent.splice(key as number, 1)
    else delete parent[key as string]
  } else {
    ;(parent as Record<string | number, Json>)[key] = value()
  }
  return root
}

// ---------------------------------------------------------------------------
// Bodies: JSON (intact, mutated, truncated, with invalid UTF-8) and the rest
// ---------------------------------------------------------------------------

const utf8 = (s: string) => new Uint8Array(Buffer.from(s, "utf8"))
const INVALID_UTF8 = [[0xff], [0xc0, 0x80], [0x80], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xfe, 0xfe]]

const jsonText = (shape: fc.Arbitrary<unknown>) =>
  fc.tuple(shape, fc.array(mutation, { maxLength: 3 })).map(([value, mutations]) =>
    splice(JSON.stringify(mutations.reduce<Json>((v, m) => mutate(v, m), structuredClone(value) as Json)) ?? "null")
  )

const proxyPages = [
  "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>",
  "<!DOCTYPE html><html><head><title>api.example.com | 524: A timeout occurred</title></head><body><script>var x = '</title>'</script><h1>Error 524</h1></body></html>",
  "<html><body><h1>503 Service Unavailable</h1>No server is available to handle this request.</body></html>",
  "<HTML><HEAD><TITLE>Access Denied</TITLE></HEAD><BODY>You don't have permission</BODY></HTML>",
  `<html><title>${"<title>".repeat(5_000)}`,
  "<html><head></head><body></body></html>",
  "<"
]

/** Bytes of a body whose main shape is `shape` (the target's own wire format). */
const bodyArb = (shape: fc.Arbitrary<unknown>): fc.Arbitrary<Uint8Array> => {
  const anyJson = fc.oneof(
    { weight: 8, arbitrary: jsonText(shape) },
    { weight: 3, arbitrary: jsonText(errorEnvelope) },
    { weight: 2, arbitrary: jsonText(fc.oneof(chatCompletion, imagesResponse, videoTask, generateContent)) },
    { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
    { weight: 1, arbitrary: fc.constantFrom("null", "[]", "{}", "\"   \"", "\"\"", "0", "true", "{\"error\":null}", "{\"error\":{}}", "[{}]", "[null]") }
  )
  const damaged = fc.oneof(
    { weight: 10, arbitrary: anyJson.map(utf8) },
    // cut short (a connection that dropped mid-JSON, a proxy's limit)
    { weight: 2, arbitrary: fc.tuple(anyJson, fc.double({ min: 0, max: 1, noNaN: true })).map(([t, at]) => utf8(t).subarray(0, Math.floor(utf8(t).length * at))) },
    // invalid UTF-8 at a few places
    {
      weight: 2,
      arbitrary: fc.tuple(anyJson, fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(...INVALID_UTF8)), { minLength: 1, maxLength: 3 }))
        .map(([t, cuts]) => {
          let bytes = Array.from(utf8(t))
          for (const [at, bad] of cuts) {
            const i = Math.floor(bytes.length * at)
            bytes = [...bytes.slice(0, i), ...bad, ...bytes.slice(i)]
          }
          return Uint8Array.from(bytes)
        })
    },
    // a byte-order mark
    { weight: 1, arbitrary: anyJson.map((t) => utf8(`\uFEFF${t}`)) }
  )
  return fc.oneof(
    { weight: 16, arbitrary: damaged },
    { weight: 2, arbitrary: fc.constantFrom(...proxyPages).map(utf8) },
    { weight: 1, arbitrary: fc.constantFrom("", " ", "\r\n", "\u0000").map(utf8) },
    { weight: 1, arbitrary: fc.oneof(textArb, fc.constantFrom("upstream connect error or disconnect/reset before headers", "Internal Server Error")).map(utf8) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) }
  )
}

// ---------------------------------------------------------------------------
// Whole responses: status line, headers, framing
// ---------------------------------------------------------------------------

const statusCode = fc.oneof(
  { weight: 12, arbitrary: fc.constant(200) },
  { weight: 2, arbitrary: fc.constantFrom(201, 202, 203, 204, 206, 301, 304, 307) },
  { weight: 7, arbitrary: fc.constantFrom(400, 401, 402, 403, 404, 408, 409, 410, 413, 422, 429, 500, 502, 503, 504, 520, 522, 524, 529) },
  { weight: 2, arbitrary: fc.integer({ min: 100, max: 999 }) }
)
/** The status line, and the status when the line is well formed. */
const statusLine = fc.oneof(
  { weight: 30, arbitrary: fc.tuple(statusCode, fc.constantFrom("OK", "Whatever", "", "Service Unavailable")).map(([code, text]) => ({ line: `HTTP/1.1 ${code} ${text}`, code: code as number | undefined })) },
  {
    weight: 1,
    arbitrary: fc.constantFrom("HTTP/1.1 0 Zero", "HTTP/1.1 1000 Big", "HTTP/1.1 abc Nope", "HTTP/1.1 -200 Neg", "HTTP/2 200 OK", "garbage", "", "HTTP/1.1  200 OK")
      .map((line) => ({ line, code: undefined as number | undefined }))
  }
)
const retryAfterValue = fc.oneof(
  fc.constantFrom(
    "-5", "garbage 1", "1e400", "Infinity", "NaN", "99999999999999999999", "0", "20", "1.5", "  7  ",
    "Wed, 21 Oct 2015 07:28:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT", "Thu, 01 Jan 1970 00:00:00 GMT", "", "20, 30", "0x10"
  ),
  fc.integer().map(String),
  fc.double().map(String),
  printable(30)
)
/** Odd `Location`s for 3xx answers; what follows a `?` or `#`, or sits in user-info, must never reach a failure. */
const LOCATION_TOKEN = "locsecret_9b2e"
const locationValue = fc.oneof(
  fc.constantFrom(
    "", " ", "/relative/path?t=locsecret_9b2e", "relative?locsecret_9b2e", "//other.example/x#locsecret_9b2e",
    "https://user:locsecret_9b2e@evil.example/x", "javascript:locsecret_9b2e", "data:text/plain,locsecret_9b2e", "http://[::1",
    `https://cdn.example/${"p".repeat(4_000)}?locsecret_9b2e`, `https://cdn.example/f?${"a=b&".repeat(1_500)}locsecret_9b2e`
  ),
  printable(60).map((path) => `https://moved.example/${path.replace(/[?#]/g, "")}?sig=${LOCATION_TOKEN}`)
)
const headerPair = fc.oneof(
  fc.tuple(fc.constantFrom("location", "Location"), locationValue),
  fc.tuple(fc.constant("content-type"), fc.constantFrom(
    "application/json", "application/json; charset=utf-8", "text/html; charset=utf-8", "text/plain", "application/octet-stream",
    "application/problem+json", "image/png", "", "garbage/;;;", "application/json; charset=latin1"
  )),
  fc.tuple(fc.constantFrom("retry-after", "Retry-After", "retry-after-ms", "date"), retryAfterValue),
  fc.tuple(
    fc.constantFrom("x-request-id", "request-id", "openai-request-id", "x-goog-request-id", "cf-ray"),
    fc.oneof(printable(60), fc.constant("r".repeat(10_000)), spelledPiece(KEY).map(({ spelled }) => `req_${spelled}`).filter((v) => /^[\x20-\x7e]*$/.test(v)))
  ),
  fc.tuple(fc.constantFrom("x-custom", "__proto__", "constructor", "server", "via"), fc.stringMatching(/^[\x20-\x7e\x80-\xff]{0,30}$/))
)

type Framing = "length" | "chunked" | "close" | "short" | "long" | "conflicting" | "garbage-header"

interface Reply {
  readonly line: string
  /** The status a client sees, when the response is well formed enough to have one. */
  readonly status: number | undefined
  readonly headers: ReadonlyArray<readonly [string, string]>
  readonly body: Uint8Array
  readonly framing: Framing
}

const replyArb = (shape: fc.Arbitrary<unknown>): fc.Arbitrary<Reply> =>
  fc.record({
    status: statusLine,
    headers: fc.array(headerPair, { maxLength: 5 }),
    body: bodyArb(shape),
    framing: fc.oneof(
      { weight: 12, arbitrary: fc.constant<Framing>("length") },
      { weight: 4, arbitrary: fc.constantFrom<Framing>("chunked", "close") },
      { weight: 4, arbitrary: fc.constantFrom<Framing>("short", "long", "conflicting", "garbage-header") }
    )
  }).map(({ body, framing, headers, status }) => ({
    line: status.line,
    // 1xx is not a final answer; broken framing headers fail before a status reaches the caller
    status: status.code !== undefined && status.code >= 200 && framing !== "conflicting" && framing !== "garbage-header" ? status.code : undefined,
    headers,
    body,
    framing,
    // a counterexample fast-check can print legibly (bodies reach 200 kB)
    [fc.toStringMethod]: () => describeReply({ line: status.line, headers, body, framing })
  }))

const describeReply = (reply: Pick<Reply, "line" | "headers" | "body" | "framing">): string => {
  const text = Buffer.from(reply.body).toString("latin1")
  const shown = text.length > 300 ? `${JSON.stringify(text.slice(0, 300))}… (${reply.body.length} bytes)` : JSON.stringify(text)
  const headers = reply.headers.map(([k, v]) => `${k}: ${v.length > 80 ? `${v.slice(0, 80)}… (${v.length})` : v}`)
  return `${JSON.stringify(reply.line)} [${reply.framing}] ${JSON.stringify(headers)} body (latin1) ${shown}`
}

const encodeReply = (reply: Reply): Buffer => {
  const head: Array<string> = [reply.line, ...reply.headers.map(([k, v]) => `${k}: ${v}`), "connection: close"]
  let body = Buffer.from(reply.body)
  switch (reply.framing) {
    case "length":
      head.push(`content-length: ${body.length}`)
      break
    case "chunked": {
      head.push("transfer-encoding: chunked")
      const chunks: Array<Buffer> = []
      for (let at = 0; at < body.length; at += 777) {
        const part = body.subarray(at, at + 777)
        chunks.push(Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from("\r\n"))
      }
      chunks.push(Buffer.from("0\r\n\r\n"))
      body = Buffer.concat(chunks)
      break
    }
    case "close":
      break
    case "short":
      head.push(`content-length: ${Math.floor(body.length / 2)}`)
      break
    case "long":
      head.push(`content-length: ${body.length + 10}`)
      break
    case "conflicting":
      head.push(`content-length: ${body.length}`, `content-length: ${body.length + 1}`)
      break
    case "garbage-header":
      head.push("this is not a header", `content-length: ${body.length}`)
      break
  }
  return Buffer.concat([Buffer.from(`${head.join("\r\n")}\r\n\r\n`, "latin1"), body])
}

// ---------------------------------------------------------------------------
// A raw HTTP server on 127.0.0.1 that answers the next request with the bytes given
// ---------------------------------------------------------------------------

const rawServer = () =>
  new Promise<{ readonly url: string; reply: Buffer; readonly close: () => Promise<void> }>((resolve) => {
    const state: { reply: Buffer } = { reply: Buffer.alloc(0) }
    const server = Net.createServer((socket) => {
      socket.on("error", () => {})
      let received: Buffer = Buffer.alloc(0)
      let answered = false
      socket.on("data", (chunk) => {
        if (answered) return
        received = Buffer.concat([received, chunk])
        const end = received.indexOf("\r\n\r\n")
        if (end === -1) return
        const head = received.subarray(0, end).toString("latin1")
        const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? "0")
        const chunked = /\r\ntransfer-encoding:\s*chunked/i.test(head)
        const body = received.subarray(end + 4)
        if (chunked ? body.indexOf("0\r\n\r\n") === -1 : body.length < length) return
        answered = true
        socket.end(state.reply)
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const address = server.address() as Net.AddressInfo
      resolve({
        url: `http://127.0.0.1:${address.port}`,
        get reply() {
          return state.reply
        },
        set reply(bytes: Buffer) {
          state.reply = bytes
        },
        close: () => new Promise<void>((done) => server.close(() => done()))
      })
    })
  })

// ---------------------------------------------------------------------------
// The tally printed at the end (the figures of the soak run)
// ---------------------------------------------------------------------------

const tally = new Map<string, { runs: number; ms: number; outcomes: Map<string, number> }>()
const count = (target: string, outcome: string) => {
  const entry = tally.get(target) ?? { runs: 0, ms: 0, outcomes: new Map<string, number>() }
  entry.runs++
  entry.outcomes.set(outcome, (entry.outcomes.get(outcome) ?? 0) + 1)
  tally.set(target, entry)
}
const timed = (target: string, ms: number) => {
  const entry = tally.get(target)
  if (entry !== undefined) entry.ms += ms
}

afterAll(() => {
  const lines = [...tally].map(([target, { ms, outcomes, runs }]) => {
    const sorted = [...outcomes].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(", ")
    return `  ${target}: ${runs} responses in ${(ms / 1000).toFixed(1)} s — ${sorted}`
  })
  console.log(`fuzz outcomes (FUZZ_RUNS=${SOAK ? FUZZ_RUNS : "unset"}):\n${lines.join("\n")}`)
})

/** Every text field of a failure, and the failure rendered. */
const textsOf = (failure: GenerationFailure): Record<string, string> => {
  const record = failure as unknown as Readonly<Record<string, unknown>>
  const out: Record<string, string> = { rendered: show(failure), message: failure.message }
  for (const name of ["param", "code", "requestId", "rawBody", "output", "finishReason", "taskId", "taskStatus", "model"]) {
    if (typeof record[name] === "string") out[name] = record[name]
  }
  return out
}

/**
 * The outcome is a success or one typed failure naming the provider, the model
 * and the problem, with the status of the response when it had one.
 */
const expectClassified = <A>(
  target: string,
  exit: Exit.Exit<A, GenerationFailure>,
  expected: { readonly provider: string; readonly model: string; readonly status: number | undefined }
): void => {
  if (Exit.isSuccess(exit)) {
    expect(leaksBySurface({ result: show(exit.value) }, [KEY]), target).toEqual({})
    count(target, "success")
    return
  }
  if (exit.cause._tag !== "Fail") {
    throw new Error(`${target}: not one typed failure but ${Cause.pretty(exit.cause)}`)
  }
  const failure: unknown = exit.cause.error
  expect(isGenerationFailure(failure), `${target}: ${String(failure)}`).toBe(true)
  const f = failure as GenerationFailure
  expect(leaksBySurface(textsOf(f), [KEY]), target).toEqual({})
  expect(f.provider).toBe(expected.provider)
  expect(f.message.trim().length, `${target}: ${f._tag}(${f.reason}) without a message`).toBeGreaterThan(0)
  expect(JSON.stringify(f)).not.toContain(LOCATION_TOKEN)
  if (f._tag === "SilentFailure") {
    // Judged on the adapter's result (Provider.make): the model that answered,
    // as the response named it, and a 2xx, which the result does not keep.
    expect(f.model.trim().length, `${target}: a silent failure without a model`).toBeGreaterThan(0)
    expect(expected.status === undefined || (expected.status >= 200 && expected.status < 300)).toBe(true)
  } else {
    expect(f.model).toBe(expected.model)
    if (expected.status !== undefined && f.reason !== "Timeout") {
      expect(f.status, `${target}: ${f._tag}(${f.reason}) lost the HTTP status: ${f.message}`).toBe(expected.status)
    }
  }
  count(target, `${category(f)}/${f.reason}`)
}

// ---------------------------------------------------------------------------
// classifyResponse, pure
// ---------------------------------------------------------------------------

describe("fuzz: classifyResponse", () => {
  const status = fc.oneof(
    statusCode,
    fc.integer({ min: -1000, max: 2000 }),
    fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 1e21, 429.5, Number.MAX_SAFE_INTEGER),
    fc.double()
  )
  const headers: fc.Arbitrary<HeadersInput> = fc.array(headerPair, { maxLength: 5 }).chain((pairs) =>
    fc.boolean().map((asArrays) => {
      const out: Record<string, string | Array<string>> = {}
      for (const [k, v] of pairs) out[k] = asArrays ? [v, "second"] : v
      return out
    })
  )
  const body = fc.oneof(
    bodyArb(errorEnvelope),
    bodyArb(fc.oneof(chatCompletion, imagesResponse, videoTask, generateContent)).map((bytes) => new TextDecoder().decode(bytes)),
    fc.constant(null),
    fc.constant(undefined)
  )
  const RUNS = runs(5_000)

  it.prop(
    `${RUNS} arbitrary responses: each a HardFailure with a reason, a message and the status; nothing thrown`,
    [status, headers, body, fc.option(fc.oneof(fc.integer(), fc.double()), { nil: undefined })],
    ([status, headers, body, now]) => {
      const t0 = performance.now()
      const failure = classifyResponse({ status, headers, body, now, provider: "p", model: "m", secrets: [Redacted.make(KEY)] })
      expect(failure).toBeInstanceOf(HardFailure)
      expect(failure.provider).toBe("p")
      expect(failure.model).toBe("m")
      expect(failure.message.trim().length).toBeGreaterThan(0)
      expect(Number.isFinite(failure.status)).toBe(true)
      if (Number.isFinite(status)) expect(failure.status).toBe(Math.trunc(status))
      expect(leaksBySurface(textsOf(failure), [KEY])).toEqual({})
      expect(failure.message).not.toContain(LOCATION_TOKEN)
      count("classifyResponse", `hard/${failure.reason}`)
      timed("classifyResponse", performance.now() - t0)
    },
    { timeout: limit(5_000), fastCheck: { numRuns: RUNS } }
  )
})

// ---------------------------------------------------------------------------
// The adapters, over real HTTP
// ---------------------------------------------------------------------------

describe("fuzz: the adapters over real HTTP", () => {
  const http = ManagedRuntime.make(NodeHttpClient.layerUndici)
  let server: Awaited<ReturnType<typeof rawServer>>
  let openai: ProviderService
  let gemini: ProviderService

  beforeAll(async () => {
    server = await rawServer()
    const options = { baseUrl: server.url, apiKey: Redacted.make(KEY), timeout: "10 seconds" } as const
    openai = await http.runPromise(OpenAICompatible.make({ ...options, name: "fuzz-openai" }))
    gemini = await http.runPromise(Gemini.make({ ...options, name: "fuzz-gemini" }))
  })
  afterAll(async () => {
    await http.dispose()
    await server.close()
  })

  const text = (model: string, validated: boolean) =>
    TextRequest.make({
      model,
      messages: [Message.make({ role: "user", content: "Describe the kite." })],
      ...(validated ? { validate: [OutputValidator.minWords(3)] } : {})
    })
  const image = (model: string) => ImageRequest.make({ model, prompt: "A kite over a hill" })

  /** Send `reply` to one operation and check what came back. */
  const exchange = <A>(
    target: string,
    reply: Reply,
    provider: string,
    model: string,
    call: () => Effect.Effect<A, GenerationFailure>
  ) =>
    Effect.gen(function*() {
      server.reply = encodeReply(reply)
      const t0 = performance.now()
      const exit = yield* Effect.exit(Effect.suspend(call))
      // undici refuses a head over 16 KiB before any status reaches the caller
      const status = Buffer.byteLength(reply.headers.map(([k, v]) => `${k}: ${v}\r\n`).join(""), "latin1") > 15 * 1024 ? undefined : reply.status
      expectClassified(target, exit, { provider, model, status })
      timed(target, performance.now() - t0)
      return exit
    })

  const QUICK = 500

  it.live.prop(
    `OpenAI-compatible chat completions: ${runs(QUICK)} responses, each a result or a typed failure`,
    [replyArb(chatCompletion), fc.boolean()],
    ([reply, validated]) => Effect.asVoid(exchange("openai text", reply, "fuzz-openai", "fuzz-text", () => openai.generateText(text("fuzz-text", validated)))),
    { timeout: limit(QUICK), fastCheck: { numRuns: runs(QUICK) } }
  )

  it.live.prop(
    `OpenAI-compatible images: ${runs(QUICK)} responses, each a result or a typed failure`,
    [replyArb(imagesResponse)],
    ([reply]) => Effect.asVoid(exchange("openai image", reply, "fuzz-openai", "fuzz-image", () => openai.generateImage(image("fuzz-image")))),
    { timeout: limit(QUICK), fastCheck: { numRuns: runs(QUICK) } }
  )

  it.live.prop(
    `OpenAI-compatible video polls (three dialects): ${runs(QUICK)} responses, each a task or a typed failure; the task's id polls again`,
    [replyArb(videoTask)],
    ([reply]) =>
      Effect.gen(function*() {
        const first = yield* exchange("openai video poll", reply, "fuzz-openai", "fuzz-video", () => openai.pollVideo({ id: "task_1", model: "fuzz-video" }))
        // The id a provider sent back is what the next poll sends (VideoPoller does so).
        if (Exit.isSuccess(first)) {
          yield* exchange("openai video re-poll", reply, "fuzz-openai", "fuzz-video", () => openai.pollVideo(first.value))
        }
      }),
    { timeout: limit(QUICK), fastCheck: { numRuns: runs(QUICK) } }
  )

  it.live.prop(
    `Gemini generateContent, text: ${runs(QUICK)} responses, each a result or a typed failure`,
    [replyArb(generateContent), fc.boolean()],
    ([reply, validated]) => Effect.asVoid(exchange("gemini text", reply, "fuzz-gemini", "fuzz-text", () => gemini.generateText(text("fuzz-text", validated)))),
    { timeout: limit(QUICK), fastCheck: { numRuns: runs(QUICK) } }
  )

  it.live.prop(
    `Gemini generateContent, image: ${runs(QUICK)} responses, each a result or a typed failure`,
    [replyArb(generateContent)],
    ([reply]) => Effect.asVoid(exchange("gemini image", reply, "fuzz-gemini", "fuzz-image", () => gemini.generateImage(image("fuzz-image")))),
    { timeout: limit(QUICK), fastCheck: { numRuns: runs(QUICK) } }
  )
})

// ---------------------------------------------------------------------------
// What the fuzz found: each case as it first failed, over real HTTP
// ---------------------------------------------------------------------------

describe("what the fuzz found", () => {
  const DEEP_ARRAY = deep(10_000, "[", "]")
  const DEEP_OBJECT = `${"{\"a\":".repeat(10_000)}null${"}".repeat(10_000)}`
  const adapters = (url: string) =>
    Effect.all({
      openai: OpenAICompatible.make({ name: "found", baseUrl: url, apiKey: Redacted.make(KEY), timeout: "10 seconds" }),
      gemini: Gemini.make({ name: "found", baseUrl: url, apiKey: Redacted.make(KEY), timeout: "10 seconds" })
    })
  const ask = (model = "found-model", validated = false) =>
    TextRequest.make({
      model,
      messages: [Message.make({ role: "user", content: "hi" })],
      ...(validated ? { validate: [OutputValidator.minWords(3)] } : {})
    })
  /** The one typed failure of an effect (a success or a defect fails the test). */
  const failureOf = <A>(effect: Effect.Effect<A, GenerationFailure>) =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(effect)
      if (Exit.isSuccess(exit)) throw new Error(`expected a typed failure, got a success: ${String(exit.value)}`)
      if (exit.cause._tag !== "Fail") throw new Error(`expected a typed failure, got ${Cause.pretty(exit.cause)}`)
      return exit.cause.error
    })

  it.scoped("a 10 000-deep array where a field should be: ServerError naming the field (was a stack-overflow defect)", () =>
    Effect.gen(function*() {
      const openaiServer = yield* serveFixed(200, { "content-type": "application/json" }, `{"choices":[${DEEP_ARRAY}]}`)
      const { openai } = yield* adapters(openaiServer.url)
      const chat = yield* failureOf(openai.generateText(ask()))
      expect([chat._tag, chat.reason, chat.status, chat.code]).toEqual(["HardFailure", "ServerError", 200, "unexpected_response"])
      expect(chat.message).toContain("choices[0]")
      const geminiServer = yield* serveFixed(200, { "content-type": "application/json" }, `{"candidates":[{"content":${DEEP_ARRAY}}]}`)
      const { gemini } = yield* adapters(geminiServer.url)
      const content = yield* failureOf(gemini.generateText(ask()))
      expect([content._tag, content.reason, content.code]).toEqual(["HardFailure", "ServerError", "unexpected_response"])
      expect(content.message).toContain("candidates[0].content")
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("20 000 wrong items in a 40 kB answer are described in milliseconds, not minutes of blocked event loop", () =>
    Effect.gen(function*() {
      const server = yield* serveFixed(200, { "content-type": "application/json" }, `{"choices":[${Array.from({ length: 20_000 }, () => "1").join(",")}]}`)
      const { openai } = yield* adapters(server.url)
      const t0 = performance.now()
      const failure = yield* failureOf(openai.generateText(ask()))
      expect(performance.now() - t0).toBeLessThan(3_000)
      expect([failure.reason, failure.code]).toEqual(["ServerError", "unexpected_response"])
      expect(failure.message).toContain("choices[0]: Expected")
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("a video task whose discriminating field is a 10 000-deep array: ServerError, not a defect in the union's decoder", () =>
    Effect.gen(function*() {
      const server = yield* serveFixed(200, { "content-type": "application/json" }, `{"id":"task_1","object":${DEEP_ARRAY},"status":"queued"}`)
      const { openai } = yield* adapters(server.url)
      const failure = yield* failureOf(openai.pollVideo({ id: "task_1", model: "sora-2" }))
      expect([failure._tag, failure.reason, failure.status, failure.code]).toEqual(["HardFailure", "ServerError", 200, "unexpected_response"])
      expect(failure.message).toContain("nested too deeply")
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("functionCall.args nested 10 000 deep: ServerError, not a defect", () =>
    Effect.gen(function*() {
      const server = yield* serveFixed(200, { "content-type": "application/json" },
        `{"candidates":[{"content":{"parts":[{"functionCall":{"name":"lookup","args":${DEEP_OBJECT}}}]},"finishReason":"STOP"}]}`)
      const { gemini } = yield* adapters(server.url)
      const failure = yield* failureOf(gemini.generateText(ask()))
      expect([failure._tag, failure.reason, failure.status, failure.code]).toEqual(["HardFailure", "ServerError", 200, "unexpected_response"])
      expect(failure.message).toContain("functionCall.args")
    }).pipe(Effect.provide(HttpLive)))

  it.scoped.each([
    ["openai", "constructor"],
    ["openai", "__proto__"],
    ["kling", "constructor"],
    ["runway", "__proto__"]
  ] as const)("a %s video status %j (a property of every object) is an unknown status, not a task", ([dialect, status]) =>
    Effect.gen(function*() {
      const body = dialect === "openai"
        ? { id: "video_1", object: "video", status }
        : dialect === "kling"
        ? { code: 0, data: { task_id: "video_1", task_status: status } }
        : { id: "video_1", status }
      const server = yield* serveJson(200, body)
      const { openai } = yield* adapters(server.url)
      const failure = yield* failureOf(openai.pollVideo({ id: "video_1", model: "sora-2" }))
      expect([failure._tag, failure.reason, failure.code]).toEqual(["HardFailure", "ServerError", "unexpected_response"])
      expect(failure.message).toContain(`unknown video task status ${JSON.stringify(status)}`)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped.each(["", " video_1", "\ud800video"])(
    "a task id that cannot be polled (%j) is the provider's ServerError at once, not the caller's BadRequest (or a URIError) at the next poll",
    (id) =>
      Effect.gen(function*() {
        const server = yield* serveFixed(200, { "content-type": "application/json" }, `{"id":${JSON.stringify(id)},"object":"video","status":"completed"}`)
        const { openai } = yield* adapters(server.url)
        const failure = yield* failureOf(openai.pollVideo({ id: "video_1", model: "sora-2" }))
        expect([failure._tag, failure.reason, failure.status, failure.code]).toEqual(["HardFailure", "ServerError", 200, "unexpected_response"])
        expect(failure.message).toContain("cannot be polled")
      }).pipe(Effect.provide(HttpLive))
  )

  it.scoped("ids and model names that are not well-formed Unicode are BadRequest with nothing sent (were URIError defects)", () =>
    Effect.gen(function*() {
      const server = yield* serveJson(200, {})
      const { gemini, openai } = yield* adapters(server.url)
      const poll = yield* failureOf(openai.pollVideo({ id: "video_\ud800", model: "sora-2" }))
      expect([poll.reason, poll.param]).toEqual(["BadRequest", "id"])
      const text = yield* failureOf(gemini.generateText(ask("gemini-\udfff")))
      expect([text.reason, text.param, text.model]).toEqual(["BadRequest", "model", "gemini-\udfff"])
      expect(yield* server.received).toEqual([])
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("a 2xx other than 200 keeps its status on soft failures and on a malformed 2xx", () =>
    Effect.gen(function*() {
      const filtered = yield* serveJson(201, { choices: [{ message: { role: "assistant", content: null }, finish_reason: "content_filter" }] })
      const soft = yield* failureOf((yield* adapters(filtered.url)).openai.generateText(ask()))
      expect([soft._tag, soft.reason, soft.status]).toEqual(["SoftFailure", "ContentFiltered", 201])
      const noImage = yield* serveJson(203, { data: [] })
      const empty = yield* failureOf((yield* adapters(noImage.url)).openai.generateImage(ImageRequest.make({ model: "gpt-image-1.5", prompt: "a kite" })))
      expect([empty._tag, empty.reason, empty.status]).toEqual(["SoftFailure", "EmptyOutput", 203])
      const badImage = yield* serveJson(202, { data: [{ b64_json: "not base64!!" }] })
      const hard = yield* failureOf((yield* adapters(badImage.url)).openai.generateImage(ImageRequest.make({ model: "gpt-image-1.5", prompt: "a kite" })))
      expect([hard._tag, hard.reason, hard.status]).toEqual(["HardFailure", "ServerError", 202])
      const oddTask = yield* serveJson(202, { id: "video_1", object: "video", status: "rendering-ish" })
      const task = yield* failureOf((yield* adapters(oddTask.url)).openai.pollVideo({ id: "video_1", model: "sora-2" }))
      expect([task.reason, task.status]).toEqual(["ServerError", 202])
      const noCandidates = yield* serveJson(201, { candidates: [] })
      const gemini = yield* failureOf((yield* adapters(noCandidates.url)).gemini.generateText(ask()))
      expect([gemini._tag, gemini.reason, gemini.status]).toEqual(["SoftFailure", "EmptyOutput", 201])
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("a blank model name in the answer: the result and a silent failure name the model that was asked", () =>
    Effect.gen(function*() {
      const server = yield* serveJson(200, { model: " ", choices: [{ message: { role: "assistant", content: "Fine." }, finish_reason: "stop" }] })
      const { openai } = yield* adapters(server.url)
      expect((yield* openai.generateText(ask())).model).toBe("found-model")
      const silent = yield* failureOf(openai.generateText(ask("found-model", true)))
      expect([silent._tag, silent.model]).toEqual(["SilentFailure", "found-model"])
      const geminiServer = yield* serveJson(200, { modelVersion: "", candidates: [{ content: { parts: [{ text: "Fine." }] }, finishReason: "STOP" }] })
      const { gemini } = yield* adapters(geminiServer.url)
      expect((yield* gemini.generateText(ask())).model).toBe("found-model")
    }).pipe(Effect.provide(HttpLive)))

  it("classifyResponse: an error type named like an Object.prototype property is classified by status (was a thrown ParseError)", () => {
    for (const type of ["constructor", "__proto__"]) {
      expect(classifyResponse({ status: 429, body: JSON.stringify({ error: { type, message: "slow down" } }) }).reason).toBe("RateLimited")
      expect(classifyResponse({ status: 400, body: JSON.stringify({ type: "error", error: { type } }) }).reason).toBe("BadRequest")
    }
  })

  it("classifyResponse: a JSON string of blanks gives the status as the message, never an empty one", () => {
    expect(classifyResponse({ status: 502, body: "\"   \"" }).message).toBe("HTTP 502 Bad Gateway")
  })

  it("classifyResponse: a valid JSON error too deep to re-serialise is not called unparseable", () => {
    const failure = classifyResponse({ status: 422, body: `{"detail":${DEEP_ARRAY}}` })
    expect(failure.message).toBe("HTTP 422 Unprocessable Entity")
    expect(failure.reason).toBe("BadRequest")
  })
})
