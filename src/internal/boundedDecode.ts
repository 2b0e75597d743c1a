/**
 * Decoding a configuration whose lists may hold thousands of entries, with a
 * report of bounded size and cost: the first few problems, named by field, and
 * a count of the entries left out. Decoding a valid file is one pass; an
 * invalid one costs a pass over each list plus one decode of the part of the
 * file the report covers — never an error tree (and its rendering) for every
 * bad entry of a huge file.
 *
 * @internal
 */
import { Effect, Either, ParseResult, type Schema, Scheduler } from "effect"
import { formatParseErrorLines, maxListedProblems, notListed } from "./formatError.js"

/**
 * A list of the configuration's top-level object, and the schema of one of its entries.
 *
 * @internal
 */
export interface ListField {
  readonly key: string
  readonly entry: Schema.Schema.AnyNoContext
}

// Decoded with ParseResult's decoders, not Schema's: a failure is a bare issue,
// where a ParseError is an Error whose stack trace costs more than the check itself.
const options = { onExcessProperty: "error" } as const

/** How many entries are checked between two turns of the event loop. */
const entriesPerTurn = 2000

/**
 * Let the event loop run (a timer turn, not a microtask: a signal such as
 * SIGTERM is only handled there), so a long check stays interruptible.
 */
const letEventLoopRun = Effect.yieldNow().pipe(Effect.withScheduler(Scheduler.timer(0)))

/**
 * Decode `u` with `schema`; on failure, the problem lines (at most `limit`,
 * then a line counting the rest).
 *
 * @internal
 */
export const decodeBounded = <A, I>(
  schema: Schema.Schema<A, I>,
  lists: ReadonlyArray<ListField>,
  u: unknown,
  limit: number = maxListedProblems
): Effect.Effect<A, ReadonlyArray<string>> =>
  Effect.gen(function*() {
    // the common case, a valid file: one pass, and the first problem stops it
    const whole = ParseResult.decodeUnknownEither(schema)(u, { ...options, errors: "first" })
    if (Either.isRight(whole)) return whole.right
    const record = typeof u === "object" && u !== null && !Array.isArray(u) ? u as Readonly<Record<string, unknown>> : undefined
    // Which entries are bad, list by list; the report decodes each list only up
    // to its last bad entry that is listed (a prefix, so indices stay the
    // file's own) and counts the bad entries beyond.
    let budget = limit
    let unlisted = 0
    const cut: Record<string, unknown> = { ...record }
    for (const { entry, key } of lists) {
      const list = record?.[key]
      if (!Array.isArray(list)) continue
      const bad: Array<number> = []
      const isEntry = ParseResult.decodeUnknownEither(entry)
      for (let index = 0; index < list.length; index++) {
        if (index > 0 && index % entriesPerTurn === 0) yield* letEventLoopRun
        if (Either.isLeft(isEntry(list[index], { ...options, errors: "first" }))) bad.push(index)
      }
      if (bad.length === 0) continue
      const listed = Math.min(budget, bad.length)
      cut[key] = list.slice(0, listed > 0 ? bad[listed - 1]! + 1 : bad[0]!)
      budget -= listed
      unlisted += bad.length - listed
    }
    let report = ParseResult.decodeUnknownEither(schema)(record === undefined ? u : cut, { ...options, errors: "all" })
    if (Either.isRight(report)) {
      // the shortened file keeps the first bad entry, so it fails whenever the
      // whole one does; should a rule over a whole list pass on its prefix, report the whole
      report = ParseResult.decodeUnknownEither(schema)(u, { ...options, errors: "all" })
      unlisted = 0
    }
    if (Either.isRight(report)) return report.right
    const lines = formatParseErrorLines(new ParseResult.ParseError({ issue: report.left }))
    return yield* Effect.fail([...lines.slice(0, limit), ...notListed(lines.length - limit, unlisted)])
  })
