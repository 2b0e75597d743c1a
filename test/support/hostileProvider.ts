/**
 * A hostile provider: a node:http server on 127.0.0.1 that speaks the
 * OpenAI-compatible and Gemini wire formats and echoes the API key it was sent
 * back in every place it can — the error's message, code, param and type
 * (Google: message, status, `ErrorInfo.metadata`), the body's `request_id`,
 * the `x-request-id` header, a success's content, revised prompt and
 * `responseId`, a video task's error — in the spelling the model name asks
 * for.
 *
 * The model is `hostile-<encoding>` (an error: 401, Google 400
 * `API_KEY_INVALID`), `hostile-<encoding>-503` (overloaded: retried, then the
 * next model) or `hostile-<encoding>-ok` (a 200 whose headers and text still
 * carry the key; a video task that is accepted as already failed, quoting it,
 * as every poll of it does).
 */
import { type Effect, FastCheck as fc, type Scope } from "effect"
import { base64, png } from "../../src/internal/simulator/assets.js"
import { type KeyEchoServer, keyEchoServer } from "./keyEchoServer.js"

const hex = (c: string, width: number) => c.charCodeAt(0).toString(16).padStart(width, "0")
const chars = (key: string) => [...key]

/**
 * The spellings the provider can echo a key in. `json` and `doubleJson` are
 * written into the JSON body's text as they are (the key comes out of the
 * parser as itself, or as `\u…` text); the others are ordinary string values.
 */
export const ENCODINGS = {
  raw: (key: string) => key,
  upper: (key: string) => key.toUpperCase(),
  lower: (key: string) => key.toLowerCase(),
  json: (key: string) => chars(key).map((c) => `\\u${hex(c, 4)}`).join(""),
  doubleJson: (key: string) => chars(key).map((c) => `\\\\u${hex(c, 4)}`).join(""),
  piece12: (key: string) => key.slice(3, 15),
  tail: (key: string) => key.slice(4),
  masked8: (key: string) => `${key.slice(0, 8)}***${key.slice(-4)}`,
  base64: (key: string) => Buffer.from(key).toString("base64"),
  base64Shifted: (key: string) => Buffer.from(`Bearer ${key}`).toString("base64"),
  base64url: (key: string) => Buffer.from(`:${key}`).toString("base64url"),
  percent: (key: string) => chars(key).map((c) => `%${hex(c, 2).toUpperCase()}`).join(""),
  percentMixed: (key: string) => chars(key).map((c, i) => (i % 2 === 0 ? `%${hex(c, 2)}` : c)).join(""),
  percentTwice: (key: string) => chars(key).map((c) => `%25${hex(c, 2)}`).join(""),
  htmlDecimal: (key: string) => chars(key).map((c) => `&#${c.charCodeAt(0)};`).join(""),
  htmlHex: (key: string) => chars(key).map((c) => `&#x${hex(c, 2)};`).join(""),
  htmlEscapedTwice: (key: string) => chars(key).map((c) => `&amp;#${c.charCodeAt(0)};`).join("")
} as const

/** @since test */
export type Encoding = keyof typeof ENCODINGS

export const ENCODING_NAMES = Object.keys(ENCODINGS) as ReadonlyArray<Encoding>

/** Encodings written into JSON text unquoted (they are JSON escapes themselves). */
const inJsonText = new Set<Encoding>(["json", "doubleJson"])

/** A JSON body whose `"\u0000ECHO"` placeholders are the echo, in its encoding. */
const jsonWith = (payload: unknown, echo: string, encoding: Encoding): string =>
  JSON.stringify(payload).replaceAll("\\u0000ECHO", () => (inJsonText.has(encoding) ? echo : JSON.stringify(echo).slice(1, -1)))
const ECHO = "\u0000ECHO"

/** Header values cannot hold what some spellings produce: they get the raw key's base64 then (still a leak if unscrubbed). */
const headerValue = (echo: string, key: string): string => (/^[\x21-\x7e ]*$/.test(echo) ? echo : Buffer.from(key).toString("base64"))

/** The hostile provider: what it received (its URL, request count and the keys it was sent). */
export type HostileProvider = KeyEchoServer

const modeOf = (text: string): { readonly encoding: Encoding; readonly outcome: "error" | "503" | "ok" } => {
  const m = /hostile-([A-Za-z0-9]+?)(?:-(503|ok))?(?=[^A-Za-z0-9-]|$)/.exec(text)
  const encoding = m?.[1] !== undefined && Object.hasOwn(ENCODINGS, m[1]) ? (m[1] as Encoding) : "raw"
  return { encoding, outcome: m?.[2] === "503" ? "503" : m?.[2] === "ok" ? "ok" : "error" }
}

/** Start the hostile provider in the current scope. */
export const startHostile: Effect.Effect<HostileProvider, never, Scope.Scope> = keyEchoServer(({ method, path, body, key, google }, res) => {
  const { encoding, outcome } = modeOf(`${path} ${body}`)
  const echo = ENCODINGS[encoding](key)
  const send = (status: number, payload: unknown) => {
    res.writeHead(status, { "content-type": "application/json", "x-request-id": headerValue(echo, key) })
    res.end(jsonWith(payload, echo, encoding))
  }
  if (outcome !== "ok") {
    const status = outcome === "503" ? 503 : google ? 400 : 401
    return google
      ? send(status, {
        error: {
          code: status,
          message: `${outcome === "503" ? "The model is overloaded" : "API key not valid"}: ${ECHO}. Please pass a valid API key.`,
          status: ECHO,
          details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: outcome === "503" ? "OVERLOADED" : "API_KEY_INVALID", metadata: { key: ECHO } }]
        },
        request_id: ECHO
      })
      : send(status, {
        error: {
          message: `${outcome === "503" ? "This model is currently experiencing high demand" : "Incorrect API key provided"}: ${ECHO}.`,
          type: ECHO,
          param: ECHO,
          code: outcome === "503" ? "upstream_error" : ECHO,
          ...(outcome === "503" ? { status: 503 } : {})
        },
        request_id: ECHO
      })
  }
  if (google) {
    const image = body.includes("IMAGE")
    return send(200, {
      candidates: [{
        content: { role: "model", parts: image ? [{ text: `Here it is, ${ECHO}` }, { inlineData: { mimeType: "image/png", data: base64(png("hostile")) } }] : [{ text: `Hello. ${ECHO}` }] },
        finishReason: "STOP"
      }],
      responseId: ECHO
    })
  }
  if (path.startsWith("/v1/chat/completions")) {
    return send(200, {
      id: "chatcmpl-1",
      object: "chat.completion",
      model: "hostile",
      choices: [{ index: 0, message: { role: "assistant", content: `Hello. ${ECHO}` }, finish_reason: "stop" }]
    })
  }
  if (path.startsWith("/v1/images/generations")) {
    return send(200, { created: 1, data: [{ b64_json: base64(png("hostile")), revised_prompt: `A kite for ${ECHO}` }] })
  }
  if (method === "POST" && path.startsWith("/v1/videos")) {
    // already failed: the caller learns it without waiting for a poll
    return send(200, { id: `task-hostile-${encoding}-ok`, object: "video", status: "failed", error: { code: ECHO, message: `render failed for ${ECHO}` } })
  }
  if (path.startsWith("/v1/videos/")) {
    return send(200, { id: path.slice("/v1/videos/".length), object: "video", status: "failed", error: { code: ECHO, message: `render failed for ${ECHO}` } })
  }
  return send(404, { error: { message: `no route for ${ECHO}`, type: "invalid_request_error", code: "not_found" } })
})

// ---------------------------------------------------------------------------
// the same idea as an arbitrary, for property tests and the fuzz
// ---------------------------------------------------------------------------

/** Per-character spellings: each character of a piece is written one of the chosen ways, independently. */
export const PER_CHAR: Readonly<Record<string, (c: string) => string>> = {
  plain: (c) => c,
  upper: (c) => c.toUpperCase(),
  percent: (c) => `%${hex(c, 2).toUpperCase()}`,
  percentLower: (c) => `%${hex(c, 2)}`,
  percentTwice: (c) => `%25${hex(c, 2)}`,
  unicodeEscape: (c) => `\\u${hex(c, 4)}`,
  hexEscape: (c) => `\\x${hex(c, 2)}`,
  slashEscape: (c) => (c === "/" ? "\\/" : c),
  htmlDecimal: (c) => `&#${c.charCodeAt(0)};`,
  htmlHex: (c) => `&#x${hex(c, 2)};`,
  htmlTwice: (c) => `&amp;#${c.charCodeAt(0)};`
}

/**
 * A piece of `key` of 8 or more characters (`plain`) and how a hostile
 * provider spells it (`spelled`): each character in one of up to three
 * per-character spellings, or the whole piece in base64 / base64url at any
 * alignment (0–2 bytes before it).
 */
export const spelledPiece = (key: string): fc.Arbitrary<{ readonly plain: string; readonly spelled: string }> =>
  fc.integer({ min: Math.min(8, key.length), max: key.length })
  .chain((length) => fc.integer({ min: 0, max: key.length - length }).map((start) => key.slice(start, start + length)))
  .chain((plain) =>
    fc.oneof(
      { weight: 3, arbitrary: fc.tuple(fc.array(fc.constantFrom(...Object.keys(PER_CHAR)), { minLength: 1, maxLength: 3 }), fc.array(fc.nat(), { minLength: plain.length, maxLength: plain.length }))
        .map(([ways, choice]) => [...plain].map((c, i) => PER_CHAR[ways[choice[i]! % ways.length]!]!(c)).join("")) },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom("", "x", "xy"), fc.boolean()).map(([pad, url]) => Buffer.from(`${pad}${plain}`).toString(url ? "base64url" : "base64")) }
    ).map((spelled) => ({ plain, spelled }))
  )
