/**
 * Reads whatever a provider sent back as an error body — JSON of several
 * vendors' shapes, an HTML page from a proxy, plain text, nothing — into one
 * flat record. Never throws, never assumes JSON.
 *
 * @internal
 */

/** @internal */
export type BodyFormat = "json" | "invalid-json" | "html" | "text" | "empty"

/** @internal */
export interface ErrorInfo {
  readonly format: BodyFormat
  readonly message?: string | undefined
  /** OpenAI `error.type`, Anthropic `error.type`. */
  readonly type?: string | undefined
  readonly param?: string | undefined
  /** A string error code (`insufficient_quota`, `upstream_error`, Kling numeric codes as text). */
  readonly code?: string | undefined
  /** Google `error.status` (`UNAVAILABLE`, `RESOURCE_EXHAUSTED`, ...). */
  readonly rpcStatus?: string | undefined
  /** An HTTP status written inside the body (gateway `status: 503`, Google `code: 503`). */
  readonly bodyStatus?: number | undefined
  /** Google `error.details`. */
  readonly details: ReadonlyArray<unknown>
  readonly requestId?: string | undefined
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)
const str = (u: unknown): string | undefined => (typeof u === "string" && u.trim().length > 0 ? u : undefined)
const httpStatus = (u: unknown): number | undefined =>
  typeof u === "number" && Number.isInteger(u) && u >= 100 && u <= 599 ? u : undefined

/** Collapse whitespace and cut to `max` characters. @internal */
export const squash = (s: string, max = 300): string => {
  // Only look at a prefix: the result is short whatever the input's size.
  const flat = s.slice(0, max * 4 + 64).replace(/\s+/g, " ").trim()
  return flat.length > max ? `${flat.slice(0, max)}…` : flat
}

/** How much of an HTML page is searched for its title (linear work, bounded). */
const HTML_SCAN_LIMIT = 64 * 1024

const decodeEntities = (s: string): string =>
  s
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, "\"")
    .replace(/&#39;/g, "'")
    .replace(/&nbsp;/g, " ")
    .replace(/&amp;/g, "&")

/**
 * The text between the first `<tag …>` and the following `</tag>`, found with
 * `indexOf` (no backtracking regex: a page of a million unclosed `<title>`s
 * costs linear time).
 */
const elementText = (html: string, lower: string, tag: string): string | undefined => {
  const open = lower.indexOf(`<${tag}`)
  if (open === -1) return undefined
  const contentStart = lower.indexOf(">", open)
  if (contentStart === -1) return undefined
  const close = lower.indexOf(`</${tag}`, contentStart)
  if (close === -1) return undefined
  return html.slice(contentStart + 1, close)
}

/** Remove `<script>`/`<style>` elements with `indexOf`, then all tags. */
const visibleText = (html: string, lower: string): string => {
  let out = ""
  let at = 0
  while (at < html.length) {
    const script = lower.indexOf("<script", at)
    const style = lower.indexOf("<style", at)
    const next = script === -1 ? style : style === -1 ? script : Math.min(script, style)
    if (next === -1) {
      out += html.slice(at)
      break
    }
    out += `${html.slice(at, next)} `
    const end = lower.indexOf(next === script ? "</script" : "</style", next)
    if (end === -1) break
    const gt = lower.indexOf(">", end)
    at = gt === -1 ? html.length : gt + 1
  }
  return out.replace(/<[^>]*>/g, " ")
}

const htmlMessage = (page: string): string | undefined => {
  const html = page.slice(0, HTML_SCAN_LIMIT)
  const lower = html.toLowerCase()
  const pick = [elementText(html, lower, "title"), elementText(html, lower, "h1")]
    .map((s) => (s === undefined ? "" : squash(decodeEntities(s.slice(0, 2048).replace(/<[^>]*>/g, " ")), 200)))
    .find((s) => s.length > 0)
  if (pick !== undefined) return pick
  const text = squash(decodeEntities(visibleText(html, lower)), 200)
  return text.length > 0 ? text : undefined
}

/** Short JSON text of a value; `undefined` for one nested too deeply to serialise (the parse itself succeeded). */
const stringified = (u: unknown): string | undefined => {
  try {
    return squash(JSON.stringify(u))
  } catch {
    return undefined
  }
}

const fromJson = (root: unknown, nestedDepth: number): ErrorInfo => {
  // Google streaming endpoints answer errors as a one-element array.
  const top = Array.isArray(root) ? root.find(isRecord) : root
  if (!isRecord(top)) {
    // a JSON string of blanks says nothing: no message rather than an empty one
    const words = str(top)
    return { format: "json", details: [], ...(words === undefined ? {} : { message: squash(words) }) }
  }
  let message: string | undefined
  let type: string | undefined
  let param: string | undefined
  let code: string | undefined
  let rpcStatus: string | undefined
  let bodyStatus: number | undefined
  let details: ReadonlyArray<unknown> = []
  const requestId = str(top["request_id"]) ?? str(top["requestId"])

  const err = top["error"]
  if (isRecord(err)) {
    message = str(err["message"])
    type = str(err["type"])
    param = str(err["param"])
    if (typeof err["code"] === "string") code = str(err["code"])
    else if (typeof err["code"] === "number") {
      bodyStatus = httpStatus(err["code"])
      if (bodyStatus === undefined) code = String(err["code"])
    }
    if (typeof err["status"] === "string") rpcStatus = str(err["status"])
    else bodyStatus = httpStatus(err["status"]) ?? bodyStatus
    if (Array.isArray(err["details"])) details = err["details"]
    // OpenRouter-style: the upstream provider's own words live in metadata.raw,
    // often itself a JSON error body (e.g. Google's google.rpc.Status).
    const metadata = err["metadata"]
    if (isRecord(metadata)) {
      const raw = typeof metadata["raw"] === "string" ? metadata["raw"] : undefined
      if (raw !== undefined && raw.trim().length > 0) {
        const inner = nestedDepth < 2 ? parseErrorBody(raw, nestedDepth + 1) : undefined
        const innerWords = inner !== undefined && inner.format === "json" && inner.message !== undefined
          ? inner.message
          : squash(raw)
        message = message === undefined ? innerWords : `${message}: ${innerWords}`
        if (inner !== undefined && inner.format === "json") {
          rpcStatus ??= inner.rpcStatus
          type ??= inner.type
          if (details.length === 0) details = inner.details
        }
      }
    }
  } else if (typeof err === "string") {
    // Runway-style {"error": "..."} or {"error": "task_not_exist"}
    message = str(err)
    if (/^[a-z0-9_]+$/.test(err)) code = err
  }
  // Flat shapes: {"message": "...", "code": ...}, Kling {"code": 1102, "message": "..."}, FastAPI {"detail": ...}
  message ??= str(top["message"]) ?? str(top["detail"]) ?? str(top["failure"])
  if (message === undefined && Array.isArray(top["detail"])) message = stringified(top["detail"])
  if (code === undefined) {
    if (typeof top["code"] === "string") code = str(top["code"])
    else if (typeof top["code"] === "number" && top["code"] !== 0) {
      const asStatus = httpStatus(top["code"])
      if (asStatus !== undefined) bodyStatus ??= asStatus
      else code = String(top["code"])
    }
    code ??= str(top["failureCode"])
  }
  if (typeof top["status"] === "number") bodyStatus ??= httpStatus(top["status"])
  // Anthropic: {"type":"error","error":{"type":"overloaded_error",...}} is handled by err.type above.
  return {
    format: "json",
    details,
    ...(message === undefined ? {} : { message }),
    ...(type === undefined ? {} : { type }),
    ...(param === undefined ? {} : { param }),
    ...(code === undefined ? {} : { code }),
    ...(rpcStatus === undefined ? {} : { rpcStatus }),
    ...(bodyStatus === undefined ? {} : { bodyStatus }),
    ...(requestId === undefined ? {} : { requestId })
  }
}

/**
 * Parse an error body of any kind.
 *
 * @internal
 */
export const parseErrorBody = (text: string, nestedDepth = 0): ErrorInfo => {
  const trimmed = text.replace(/^\uFEFF/, "").trim()
  if (trimmed.length === 0) return { format: "empty", details: [] }
  const first = trimmed[0]
  if (first === "{" || first === "[" || first === "\"") {
    try {
      return fromJson(JSON.parse(trimmed), nestedDepth)
    } catch {
      return { format: "invalid-json", details: [], message: `unparseable error body: ${squash(trimmed, 200)}` }
    }
  }
  if (first === "<") {
    const message = htmlMessage(trimmed)
    return { format: "html", details: [], ...(message === undefined ? {} : { message }) }
  }
  return { format: "text", details: [], message: squash(trimmed) }
}
