import { Cause, HashMap, List, Logger } from "effect"
import { inspect } from "node:util"

/**
 * Finding an API key in text, however it was spelled: raw, in any letter case,
 * URL-encoded, JSON-escaped (once or twice, `\u0073` escapes included), as
 * HTML character references, base64, the masked echoes providers send back
 * (`gw-li***5b8d`), or any piece of it of {@link FRAGMENT} characters or more
 * (a key cut at a truncation point, the first characters of a masked echo).
 *
 * The decoding here is written independently of the library's scrubber
 * (plain regular expressions, applied until nothing changes), so the two do
 * not share a blind spot.
 */

/** Masked echoes: `gw-li***5b8d` (OpenAI's 5 + 4), `gw-li***c2e5b8d`, and other head/tail lengths. */
export const masks = (key: string): ReadonlyArray<string> => {
  const out: Array<string> = []
  for (let head = 3; head <= 8; head++) {
    for (let tail = 4; tail <= 8; tail++) out.push(`${key.slice(0, head)}***${key.slice(-tail)}`, `${key.slice(0, head)}...${key.slice(-tail)}`)
  }
  return out
}

/** The spellings of a key that must never be visible. */
export const spellings = (key: string): ReadonlyArray<string> => [
  ...new Set([
    key,
    encodeURIComponent(key),
    encodeURIComponent(key).toLowerCase(),
    JSON.stringify(key).slice(1, -1),
    JSON.stringify(JSON.stringify(key)).slice(2, -2),
    key.replaceAll("/", "\\/"),
    Buffer.from(key).toString("base64"),
    ...masks(key)
  ])
]

/** Runs of this many consecutive characters of a key count as a piece of it. */
export const FRAGMENT = 8

const NAMED: Readonly<Record<string, string>> = { amp: "&", lt: "<", gt: ">", quot: "\"", apos: "'", sol: "/", plus: "+", equals: "=", lowbar: "_", period: "." }

/** One round of every decoding a provider could have applied. */
const decodeRound = (text: string): string =>
  text
    .replace(/%([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
    .replace(/\\u([0-9a-f]{4})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
    .replace(/\\x([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
    .replace(/\\([\\/"'])/g, "$1")
    .replace(/&#x([0-9a-f]{1,6});?/gi, (_, h: string) => String.fromCodePoint(Math.min(parseInt(h, 16), 0x10ffff)))
    .replace(/&#([0-9]{1,7});?/g, (_, d: string) => String.fromCodePoint(Math.min(parseInt(d, 10), 0x10ffff)))
    .replace(/&([a-z]+);/gi, (whole, name: string) => NAMED[name.toLowerCase()] ?? whole)

/** `text` and what it decodes to, round after round, lower-cased. */
const decodings = (text: string): ReadonlyArray<string> => {
  const out = [text.toLowerCase()]
  let current = text
  for (let round = 0; round < 4; round++) {
    const next = decodeRound(current)
    if (next === current) break
    out.push(next.toLowerCase())
    current = next
  }
  return out
}

/**
 * The base64 (and base64url) forms that give away {@link FRAGMENT} bytes of a
 * key wherever they sit in the encoded text: two whole 3-byte groups of the key
 * at each of the three alignments.
 */
const base64Pieces = (key: string): ReadonlyArray<string> => {
  const bytes = Buffer.from(key, "utf8")
  const out: Array<string> = []
  for (let shift = 0; shift < 3; shift++) {
    const b64 = bytes.subarray(shift).toString("base64")
    for (let at = 0; at + 8 <= Math.floor((bytes.length - shift) / 3) * 4; at += 4) {
      const piece = b64.slice(at, at + 8)
      out.push(piece, piece.replaceAll("+", "-").replaceAll("/", "_"))
    }
  }
  return out
}

/** The spellings of `key` found in `text`, else its longest piece of at least {@link FRAGMENT} characters (in any case, decoded), else a base64 piece. */
export const leaksIn = (text: string, key: string): ReadonlyArray<string> => {
  const found = spellings(key).filter((form) => text.includes(form))
  if (found.length > 0) return found
  const lowered = key.toLowerCase()
  const decoded = decodings(text)
  const shortest = Math.min(FRAGMENT, key.length)
  // no piece of the shortest length, no longer one: look for the longest only when there is one
  const some = Array.from({ length: key.length - shortest + 1 }, (_, i) => lowered.slice(i, i + shortest))
  if (some.some((piece) => decoded.some((d) => d.includes(piece)))) {
    for (let length = key.length; length >= shortest; length--) {
      for (let i = 0; i + length <= key.length; i++) {
        const piece = lowered.slice(i, i + length)
        const where = decoded.findIndex((d) => d.includes(piece))
        if (where >= 0) return [`piece ${JSON.stringify(key.slice(i, i + length))}${where === 0 ? "" : ` after ${where} round(s) of decoding`}`]
      }
    }
  }
  const b64 = base64Pieces(key).find((piece) => decoded.some((d) => d.includes(piece.toLowerCase())))
  return b64 === undefined ? [] : [`base64 piece ${JSON.stringify(b64)}`]
}

/** `{ where: [leaks] }` for every surface that shows a key (and, given a marker, the marker), so a failing test says where. */
export const leaksBySurface = (
  surfaces: Readonly<Record<string, string>>,
  keys: ReadonlyArray<string>,
  marker?: string
) =>
  Object.fromEntries(
    Object.entries(surfaces)
      .map(([where, text]) =>
        [where, [...keys.flatMap((key) => leaksIn(text, key)), ...(marker !== undefined && text.includes(marker) ? [`marker ${marker}`] : [])]] as const
      )
      .filter(([, leaks]) => leaks.length > 0)
  )

/** A value as a person or a system could see it: `String`, JSON (bigints as strings) and `inspect`. */
export const show = (u: unknown): string => {
  if (typeof u === "string") return u
  try {
    return `${String(u)} ${JSON.stringify(u, (_, v: unknown) => (typeof v === "bigint" ? String(v) : v))} ${inspect(u, { depth: 8 })}`
  } catch {
    return `${String(u)} ${inspect(u, { depth: 8 })}`
  }
}

/** One log line as every stock logger would render it, with its cause, annotations and spans. */
export const renderLogLine = (options: Logger.Logger.Options<unknown>): string =>
  [
    Logger.stringLogger.log(options),
    Logger.logfmtLogger.log(options),
    Logger.jsonLogger.log(options),
    show(Logger.structuredLogger.log(options)),
    show(options.message),
    Cause.pretty(options.cause),
    ...[...HashMap.toEntries(options.annotations)].map(([k, v]) => `${k}=${show(v)}`),
    ...List.toArray(options.spans).map((s) => s.label)
  ].join("\n")
