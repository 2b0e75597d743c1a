import { Cause, HashMap, List, Logger } from "effect"
import { inspect } from "node:util"

/**
 * Finding an API key in text, however it was spelled: raw, URL-encoded,
 * JSON-escaped (once or twice), base64, the masked echoes providers send
 * back (`gw-li***5b8d`), or any piece of it of {@link FRAGMENT} characters
 * or more (a key cut at a truncation point).
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
export const FRAGMENT = 12

/** The spellings of `key` found in `text`, else its longest piece of at least {@link FRAGMENT} characters. */
export const leaksIn = (text: string, key: string): ReadonlyArray<string> => {
  const found = spellings(key).filter((form) => text.includes(form))
  if (found.length > 0) return found
  for (let length = key.length - 1; length >= FRAGMENT; length--) {
    for (let i = 0; i + length <= key.length; i++) {
      const piece = key.slice(i, i + length)
      if (text.includes(piece)) return [`piece ${JSON.stringify(piece)}`]
    }
  }
  return []
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
