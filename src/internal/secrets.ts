/**
 * Finding and removing pieces of secrets (API keys) in text a provider sent
 * back, however the provider spelled them.
 *
 * What counts as a leak: any run of {@link WINDOW} consecutive characters of a
 * key (all of a shorter key), in any letter case, written
 *
 * - as is, or percent-encoded (`%73%6B…`, any mix of encoded and plain
 *   characters, UTF-8 sequences included, nested as `%2573`),
 * - with JSON / JavaScript escapes (`\u0073`, `\u{73}`, `\x73`, `\/`, `\\u0073`),
 * - with HTML character references (`&#115;`, `&#x73;`, `&sol;`, `&amp;#115;`),
 * - in base64 or base64url, at any alignment in the encoded text.
 *
 * How it is complete. The text is first *decoded* into a stream of code units,
 * each remembering the span of the original text it came from; decoding is
 * repeated (a few passes) so that nested escapes unfold. Every spelling above
 * except base64 decodes to the key's own characters, so looking for the key's
 * windows in the decoded stream, case-folded, finds each one whatever mix of
 * escapes was used — no list of pre-escaped forms can be complete, since each
 * character of a window may be escaped on its own. Base64 does not decode
 * locally, so it is found the other way round: a piece of at least
 * {@link WINDOW} bytes, wherever it starts, contains two whole 3-byte groups
 * of the encoded text; those are encoded as 8 characters that are the base64
 * of 6 consecutive bytes of the key starting at a group boundary of one of the
 * three encodings `base64(key.slice(0 | 1 | 2))`. All those 8-character forms
 * are precomputed (and matched in the decoded stream too, so a base64 key
 * that was then percent-encoded or JSON-escaped is found as well).
 *
 * Every form has a fixed length, so matching is one rolling hash over the
 * stream per length: linear in the text, whatever the number of keys. The
 * forms are built once per key and cached (keys arrive as the same `Redacted`
 * values call after call).
 *
 * Only what matched is replaced: a window of a key is redacted, the words
 * around it are kept.
 *
 * @internal
 */
import { Redacted } from "effect"

/** The length of the smallest piece of a key that must never be shown. @internal */
export const WINDOW = 8

/** Keys shorter than this are not looked for (they would redact ordinary words). */
const MIN_KEY = 4

/** What replaces each piece found. @internal */
export const REDACTED = "[REDACTED]"

/** Forms of one length, by rolling hash. */
interface Forms {
  readonly length: number
  readonly byHash: Map<number, Array<Uint16Array>>
  /** One bit per low 16 bits of a hash: most positions are ruled out without a map look-up. */
  readonly filter: Uint32Array
}

/** A compiled set of keys. @internal */
export interface Matcher {
  readonly forms: ReadonlyArray<Forms>
}

const BASE = 0x01000193

const fold = (c: number): number => (c >= 0x41 && c <= 0x5a ? c + 0x20 : c)

const codesOf = (s: string): Uint16Array => {
  const out = new Uint16Array(s.length)
  for (let i = 0; i < s.length; i++) out[i] = fold(s.charCodeAt(i))
  return out
}

const hashOf = (codes: Uint16Array | ArrayLike<number>, start: number, length: number): number => {
  let h = 0
  for (let j = 0; j < length; j++) h = (Math.imul(h, BASE) + codes[start + j]!) | 0
  return h
}

/** Every form of one key: its windows, and the 8-character base64 / base64url forms of its 6-byte group runs. */
const formsOfKey = (key: string): ReadonlyArray<string> => {
  if (key.length < MIN_KEY) return []
  const out: Array<string> = []
  if (key.length <= WINDOW) out.push(key)
  else for (let i = 0; i + WINDOW <= key.length; i++) out.push(key.slice(i, i + WINDOW))
  const bytes = Buffer.from(key, "utf8")
  for (let shift = 0; shift < 3; shift++) {
    const groups = Math.floor((bytes.length - shift) / 3)
    if (groups < 2) continue
    const b64 = bytes.subarray(shift, shift + groups * 3).toString("base64")
    for (let g = 0; g + 2 <= groups; g++) {
      const form = b64.slice(g * 4, g * 4 + 8)
      out.push(form, form.replace(/\+/g, "-").replace(/\//g, "_"))
    }
  }
  return out
}

/**
 * The forms of a secret, cached on the `Redacted` value itself (never on the
 * key's text: nothing here keeps a key alive longer than its `Redacted`).
 */
const bySecret = new WeakMap<Redacted.Redacted, ReadonlyArray<string>>()

const formsOfSecret = (secret: Redacted.Redacted): ReadonlyArray<string> => {
  let forms = bySecret.get(secret)
  if (forms === undefined) {
    const value: unknown = Redacted.value(secret)
    // a key pasted with blanks around it is sent (and echoed) trimmed
    forms = typeof value !== "string" ? [] : value.trim() === value ? formsOfKey(value) : [...formsOfKey(value), ...formsOfKey(value.trim())]
    bySecret.set(secret, forms)
  }
  return forms
}

const compile = (secrets: ReadonlyArray<Redacted.Redacted>): Matcher => {
  const byLength = new Map<number, Map<number, Array<Uint16Array>>>()
  const seen = new Set<string>()
  for (const secret of secrets) {
    for (const form of formsOfSecret(secret)) {
      const folded = codesOf(form)
      const id = String.fromCharCode(...folded)
      if (seen.has(id)) continue
      seen.add(id)
      let table = byLength.get(folded.length)
      if (table === undefined) byLength.set(folded.length, table = new Map())
      const h = hashOf(folded, 0, folded.length)
      const bucket = table.get(h)
      if (bucket === undefined) table.set(h, [folded])
      else bucket.push(folded)
    }
  }
  return {
    forms: [...byLength].map(([length, byHash]) => {
      const filter = new Uint32Array(2048)
      for (const h of byHash.keys()) filter[(h >>> 5) & 2047]! |= 1 << (h & 31)
      return { length, byHash, filter }
    })
  }
}

const matchers = new WeakMap<ReadonlyArray<Redacted.Redacted>, Matcher>()

/**
 * The matcher of a set of secrets, built once per array.
 *
 * @internal
 */
export const matcherOf = (secrets: ReadonlyArray<Redacted.Redacted>): Matcher => {
  let matcher = matchers.get(secrets)
  if (matcher === undefined) {
    matcher = compile(secrets)
    matchers.set(secrets, matcher)
  }
  return matcher
}

// ---------------------------------------------------------------------------
// decoding, keeping where each code unit came from
// ---------------------------------------------------------------------------

/**
 * Code units (case-folded) and, for each, the span `[from, to)` of the
 * original text it stands for (none for the text itself: unit `i` is `[i, i + 1)`).
 */
interface Stream {
  readonly codes: Uint16Array
  readonly from: Int32Array | undefined
  readonly to: Int32Array | undefined
  readonly length: number
}

const fromOf = (s: Stream, i: number): number => (s.from === undefined ? i : s.from[i]!)
const toOf = (s: Stream, i: number): number => (s.to === undefined ? i + 1 : s.to[i]!)

const PASSES = 4

/** HTML's named references for the ASCII punctuation keys are made of (letters and digits have none). */
const ENTITIES: Readonly<Record<string, number>> = {
  amp: 0x26, lt: 0x3c, gt: 0x3e, quot: 0x22, apos: 0x27, sol: 0x2f, bsol: 0x5c, plus: 0x2b, equals: 0x3d, lowbar: 0x5f,
  UnderBar: 0x5f, period: 0x2e, colon: 0x3a, semi: 0x3b, comma: 0x2c, excl: 0x21, num: 0x23, dollar: 0x24, percnt: 0x25,
  lpar: 0x28, rpar: 0x29, ast: 0x2a, midast: 0x2a, commat: 0x40, lsqb: 0x5b, lbrack: 0x5b, rsqb: 0x5d, rbrack: 0x5d,
  lcub: 0x7b, lbrace: 0x7b, rcub: 0x7d, rbrace: 0x7d, verbar: 0x7c, vert: 0x7c, VerticalLine: 0x7c, grave: 0x60,
  DiacriticalGrave: 0x60, Hat: 0x5e, quest: 0x3f, tilde: 0x7e, nbsp: 0xa0
}
const LONGEST_ENTITY = 16

const hexValue = (c: number): number =>
  c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1

/** One decoding step over `s`. */
const decodeOnce = (s: Stream): Stream | undefined => {
  const n = s.length
  const { codes } = s
  const codesOut = new Uint16Array(n)
  const fromOut = new Int32Array(n)
  const toOut = new Int32Array(n)
  let out = 0
  let changed = false
  const hexRun = (at: number, count: number): number => {
    if (at + count > n) return -1
    let v = 0
    for (let j = 0; j < count; j++) {
      const d = hexValue(codes[at + j]!)
      if (d < 0) return -1
      v = v * 16 + d
    }
    return v
  }
  /** Emit code point `cp` standing for units `[i, end)` of `s`. */
  const emit = (cp: number, i: number, end: number): void => {
    const from = fromOf(s, i)
    const to = toOf(s, end - 1)
    if (cp > 0xffff) {
      const v = cp - 0x10000
      codesOut[out] = 0xd800 + (v >> 10)
      fromOut[out] = from
      toOut[out++] = to
      codesOut[out] = fold(0xdc00 + (v & 0x3ff))
    } else {
      codesOut[out] = fold(cp)
    }
    fromOut[out] = from
    toOut[out++] = to
    changed = true
  }
  let i = 0
  while (i < n) {
    const c = codes[i]!
    if (c === 0x25 /* % */) {
      const byte = hexRun(i + 1, 2)
      if (byte >= 0 && byte < 0x80) {
        emit(byte, i, i + 3)
        i += 3
        continue
      }
      if (byte >= 0xc0 && byte < 0xf8) {
        // a UTF-8 sequence, every byte percent-encoded
        const extra = byte >= 0xf0 ? 3 : byte >= 0xe0 ? 2 : 1
        let cp = byte & (0x3f >> extra)
        let j = i + 3
        let ok = true
        for (let k = 0; k < extra && ok; k++, j += 3) {
          const next = codes[j] === 0x25 ? hexRun(j + 1, 2) : -1
          if (next < 0x80 || next >= 0xc0) ok = false
          else cp = (cp << 6) | (next & 0x3f)
        }
        if (ok && cp <= 0x10ffff) {
          emit(cp, i, j)
          i = j
          continue
        }
      }
    } else if (c === 0x5c /* \ */ && i + 1 < n) {
      const e = codes[i + 1]!
      if (e === 0x75 /* u */) {
        const unit = hexRun(i + 2, 4)
        if (unit >= 0) {
          emit(unit, i, i + 6)
          i += 6
          continue
        }
        if (codes[i + 2] === 0x7b /* { */) {
          let j = i + 3
          let cp = 0
          while (j < n && j < i + 10 && hexValue(codes[j]!) >= 0) cp = cp * 16 + hexValue(codes[j++]!)
          if (j > i + 3 && codes[j] === 0x7d && cp <= 0x10ffff) {
            emit(cp, i, j + 1)
            i = j + 1
            continue
          }
        }
      } else if (e === 0x78 /* x */) {
        const byte = hexRun(i + 2, 2)
        if (byte >= 0) {
          emit(byte, i, i + 4)
          i += 4
          continue
        }
      } else if (e === 0x2f || e === 0x5c || e === 0x22 || e === 0x27) {
        emit(e, i, i + 2)
        i += 2
        continue
      }
    } else if (c === 0x26 /* & */ && i + 2 < n) {
      if (codes[i + 1] === 0x23 /* # */) {
        const hex = codes[i + 2] === 0x78 /* x (folded) */
        let j = i + (hex ? 3 : 2)
        const digitsFrom = j
        let cp = 0
        while (j < n && j < digitsFrom + 8) {
          const d = hex ? hexValue(codes[j]!) : codes[j]! >= 0x30 && codes[j]! <= 0x39 ? codes[j]! - 0x30 : -1
          if (d < 0) break
          cp = cp * (hex ? 16 : 10) + d
          j++
        }
        // browsers accept a numeric reference without its semicolon
        if (j > digitsFrom && cp <= 0x10ffff) {
          const end = codes[j] === 0x3b ? j + 1 : j
          emit(cp, i, end)
          i = end
          continue
        }
      } else {
        const semi = indexOfSemicolon(codes, i + 1, Math.min(n, i + 2 + LONGEST_ENTITY))
        if (semi > 0) {
          const cp = entity(s, i + 1, semi)
          if (cp !== undefined) {
            emit(cp, i, semi + 1)
            i = semi + 1
            continue
          }
        }
      }
    }
    codesOut[out] = c
    fromOut[out] = fromOf(s, i)
    toOut[out++] = toOf(s, i)
    i++
  }
  return changed ? { codes: codesOut, from: fromOut, to: toOut, length: out } : undefined
}

const indexOfSemicolon = (codes: Uint16Array, from: number, until: number): number => {
  for (let j = from; j < until; j++) {
    const c = codes[j]!
    if (c === 0x3b) return j
    if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39))) return -1
  }
  return -1
}

// Names are matched folded; the few whose case matters in HTML (`Hat`, `UnderBar`)
// are accepted in any case, which only ever finds more.
const FOLDED_ENTITIES = new Map(Object.entries(ENTITIES).map(([name, cp]) => [name.toLowerCase(), cp]))

const entity = (s: Stream, from: number, to: number): number | undefined => {
  let name = ""
  for (let j = from; j < to; j++) name += String.fromCharCode(s.codes[j]!)
  return FOLDED_ENTITIES.get(name)
}

const streamOf = (text: string): Stream => ({ codes: codesOf(text), from: undefined, to: undefined, length: text.length })

/** Could `text` hold an escape at all? (most error messages hold none: one pass suffices) */
const ESCAPES = /[%\\&]/

// ---------------------------------------------------------------------------
// matching
// ---------------------------------------------------------------------------

const equalAt = (codes: Uint16Array, at: number, form: Uint16Array): boolean => {
  for (let j = 0; j < form.length; j++) if (codes[at + j] !== form[j]) return false
  return true
}

/** Spans `[from, to)` of `text` that are (or decode to) a form, merged and in order. */
const spansIn = (stream: Stream, matcher: Matcher, into: Array<[number, number]>): void => {
  const { codes, length } = stream
  for (const { byHash, filter, length: m } of matcher.forms) {
    if (length < m) continue
    let power = 1
    for (let j = 1; j < m; j++) power = Math.imul(power, BASE)
    let h = hashOf(codes, 0, m)
    for (let i = 0; ; i++) {
      if ((filter[(h >>> 5) & 2047]! & (1 << (h & 31))) !== 0) {
        const bucket = byHash.get(h)
        if (bucket !== undefined && bucket.some((form) => equalAt(codes, i, form))) {
          into.push([fromOf(stream, i), toOf(stream, i + m - 1)])
        }
      }
      if (i + m >= length) break
      h = (Math.imul((h - Math.imul(codes[i]!, power)) | 0, BASE) + codes[i + m]!) | 0
    }
  }
}

/**
 * `text` with every piece of the matcher's keys, in every spelling the module
 * knows, replaced by {@link REDACTED}.
 *
 * @internal
 */
export const redactWith = (text: string, matcher: Matcher): string => {
  if (matcher.forms.length === 0 || text.length === 0) return text
  const spans: Array<[number, number]> = []
  let stream: Stream | undefined = streamOf(text)
  spansIn(stream, matcher, spans)
  if (ESCAPES.test(text)) {
    for (let pass = 0; pass < PASSES; pass++) {
      stream = decodeOnce(stream)
      if (stream === undefined) break
      spansIn(stream, matcher, spans)
    }
  }
  if (spans.length === 0) return text
  spans.sort((a, b) => a[0] - b[0])
  let out = ""
  let at = 0
  let open = spans[0]![0]
  let close = spans[0]![1]
  for (const [from, to] of spans) {
    if (from <= close) {
      if (to > close) close = to
      continue
    }
    out += text.slice(at, open) + REDACTED
    at = close
    open = from
    close = to
  }
  return out + text.slice(at, open) + REDACTED + text.slice(close)
}

/**
 * `text` with every piece of `secrets` removed (see the module's notes for
 * what a piece is). Only the keys: well-known key shapes are the caller's.
 *
 * @internal
 */
export const redactSecrets = (text: string, secrets: ReadonlyArray<Redacted.Redacted> | undefined): string =>
  secrets === undefined || secrets.length === 0 ? text : redactWith(text, matcherOf(secrets))

/**
 * Does `text` hold a piece of one of `secrets`?
 *
 * @internal
 */
export const holdsSecret = (text: string, secrets: ReadonlyArray<Redacted.Redacted> | undefined): boolean =>
  redactSecrets(text, secrets) !== text
