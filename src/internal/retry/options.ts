/**
 * Shared by `RetryPolicy` and `RetryBudget`: the error for invalid options and
 * a decoder that names the offending field.
 *
 * @internal
 */
import { Either, ParseResult, Schema } from "effect"

/**
 * Options given to a retry policy or retry budget are invalid (a non-positive
 * `base`, a `factor` below 1, a fractional `maxAttempts`, `NaN`, …). `field`
 * names the option, e.g. `"factor"` or `"budget.maxTokens"`.
 *
 * @internal
 */
export class InvalidRetryOptions extends Schema.TaggedError<InvalidRetryOptions>(
  "effect-ai-resilience/InvalidRetryOptions"
)("InvalidRetryOptions", {
  field: Schema.String,
  message: Schema.String
}) {}

const decodeOptions = { errors: "first", onExcessProperty: "ignore" } as const

/**
 * Decode `input` with `schema`; the first problem becomes an
 * {@link InvalidRetryOptions} whose `field` is the issue's path, prefixed with
 * `prefix` (e.g. `"budget"`).
 *
 * @internal
 */
export const decodeOptionsWith = <A, I>(
  schema: Schema.Schema<A, I>,
  input: unknown,
  prefix?: string
): Either.Either<A, InvalidRetryOptions> =>
  Either.mapLeft(Schema.decodeUnknownEither(schema, decodeOptions)(input), (error) => {
    const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
    const path = issue === undefined ? [] : issue.path.map(String)
    const field = [...(prefix === undefined ? [] : [prefix]), ...path].join(".") || "(options)"
    const message = issue?.message ?? ParseResult.TreeFormatter.formatErrorSync(error)
    return new InvalidRetryOptions({ field, message: `${field}: ${message}` })
  })
