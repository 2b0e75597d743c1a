/**
 * Declarative checks for silent failures: output that came back
 * with `finish_reason: stop` but is wrong for the application. Attach them to
 * a request (`TextRequest.validate`); the first one that fails turns the
 * result into `SilentFailure("InvalidOutput")` holding the whole output.
 *
 * @since 0.1.0
 */
import { Either, Option, ParseResult, Schema } from "effect"

/**
 * A named check of a model's text output. `check` returns the problem, or
 * `None` when the output is acceptable.
 *
 * @since 0.1.0
 */
export interface OutputValidator {
  readonly [TypeId]: typeof TypeId
  /** Short name reported in the failure, e.g. `"json"`, `"oneOf"`. */
  readonly name: string
  /** What the validator expects, for people. */
  readonly description: string
  readonly check: (output: string) => Option.Option<string>
}

/** @since 0.1.0 */
export const TypeId: unique symbol = Symbol.for("effect-ai-resilience/OutputValidator")
/** @since 0.1.0 */
export type TypeId = typeof TypeId

/**
 * Is this value an {@link OutputValidator}?
 *
 * @since 0.1.0
 */
export const isOutputValidator = (u: unknown): u is OutputValidator =>
  typeof u === "object" && u !== null && TypeId in u

/**
 * Schema for validators held in a request (they are checked, not serialised).
 *
 * @since 0.1.0
 */
export const OutputValidator: Schema.Schema<OutputValidator> = Schema.declare(isOutputValidator, {
  identifier: "OutputValidator"
})

/**
 * Build a custom validator.
 *
 * @example
 * ```ts
 * import { Option } from "effect"
 * import { OutputValidator } from "effect-ai-resilience"
 *
 * const noApology = OutputValidator.make("noApology", "does not apologise", (out) =>
 *   /\bsorry\b/i.test(out) ? Option.some("the model apologised instead of answering") : Option.none())
 * ```
 *
 * @since 0.1.0
 */
export const make = (
  name: string,
  description: string,
  check: (output: string) => Option.Option<string>
): OutputValidator => ({ [TypeId]: TypeId, name, description, check })

const fenced = /^\s*```(?:json)?[ \t]*\r?\n([\s\S]*?)\r?\n?```\s*$/i

/**
 * The output must be JSON that decodes with `schema`. A single surrounding
 * Markdown code fence (```json … ```) is tolerated.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { OutputValidator } from "effect-ai-resilience"
 *
 * const verdict = OutputValidator.json(Schema.Struct({ label: Schema.String, score: Schema.Number }))
 * ```
 *
 * @since 0.1.0
 */
export const json = <A, I>(schema: Schema.Schema<A, I, never>): OutputValidator => {
  const decode = Schema.decodeUnknownEither(Schema.parseJson(schema), { errors: "all" })
  return make("json", `JSON matching ${String(Schema.encodedSchema(schema).ast)}`, (output) => {
    const body = fenced.exec(output)?.[1] ?? output
    let decoded: ReturnType<typeof decode>
    try {
      decoded = decode(body)
    } catch {
      // output nested too deeply for the decoder (thousands of levels): not the JSON asked for
      return Option.some("the output is nested too deeply to check")
    }
    return Either.match(decoded, {
      onLeft: (error) => {
        try {
          return Option.some(ParseResult.TreeFormatter.formatErrorSync(error))
        } catch {
          // a value nested too deeply to describe (the formatter runs out of stack)
          return Option.some("the output does not match (a value nested too deeply to describe)")
        }
      },
      onRight: () => Option.none()
    })
  })
}

/**
 * The output (trimmed, with a trailing full stop removed) must be one of
 * `labels`. Case-insensitive unless `caseSensitive` is set.
 *
 * @example
 * ```ts
 * import { OutputValidator } from "effect-ai-resilience"
 *
 * OutputValidator.oneOf(["positive", "negative", "neutral"])
 * ```
 *
 * @since 0.1.0
 */
export const oneOf = (
  labels: ReadonlyArray<string>,
  options?: { readonly caseSensitive?: boolean | undefined }
): OutputValidator => {
  const caseSensitive = options?.caseSensitive === true
  const norm = (s: string) => (caseSensitive ? s : s.toLowerCase())
  const allowed = new Set(labels.map((label) => norm(label.trim())))
  return make("oneOf", `one of: ${labels.join(", ")}`, (output) => {
    const answer = norm(output.trim().replace(/\.$/, ""))
    return allowed.has(answer)
      ? Option.none()
      : Option.some(`expected one of [${labels.join(", ")}], got ${JSON.stringify(output.slice(0, 80))}`)
  })
}

/**
 * The output must contain at least `min` words (a summary under 10
 * words is suspicious).
 *
 * @since 0.1.0
 */
export const minWords = (min: number): OutputValidator =>
  make("minWords", `at least ${min} words`, (output) => {
    const words = countWords(output)
    return words >= min ? Option.none() : Option.some(`expected at least ${min} words, got ${words}`)
  })

/** Scripts written without spaces between words. */
const unspaced = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u

const wordSegmenter: Intl.Segmenter | undefined = typeof Intl.Segmenter === "function"
  ? new Intl.Segmenter(undefined, { granularity: "word" })
  : undefined

/**
 * Whitespace-separated words; a run in a script written without spaces
 * (Japanese, Chinese, Thai, ...) counts the words a word segmenter finds in it,
 * so a Japanese summary is not one "word".
 */
const countWords = (text: string): number => {
  let count = 0
  for (const token of text.split(/\s+/u)) {
    if (!/[\p{L}\p{N}]/u.test(token)) continue
    if (wordSegmenter !== undefined && unspaced.test(token)) {
      let inToken = 0
      for (const segment of wordSegmenter.segment(token)) if (segment.isWordLike === true) inToken++
      count += Math.max(1, inToken)
    } else {
      count++
    }
  }
  return count
}

/**
 * Run validators in order; the first problem found, with the validator's name.
 *
 * @since 0.1.0
 */
export const validate = (
  validators: ReadonlyArray<OutputValidator>,
  output: string
): Option.Option<{ readonly validator: string; readonly problem: string }> => {
  for (const validator of validators) {
    const problem = validator.check(output)
    if (Option.isSome(problem)) return Option.some({ validator: validator.name, problem: problem.value })
  }
  return Option.none()
}
