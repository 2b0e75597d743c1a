/**
 * Compact, path-first rendering of Schema parse errors: one line per field,
 * e.g. `models[0].kind: Expected "text" | "image" | "video", actual "hologram"`.
 *
 * @internal
 */
import { ParseResult } from "effect"

const pathOf = (path: ReadonlyArray<PropertyKey>): string =>
  path.length === 0
    ? "(root)"
    : path.reduce<string>(
      (acc, key) => (typeof key === "number" ? `${acc}[${key}]` : acc.length === 0 ? String(key) : `${acc}.${String(key)}`),
      ""
    )

/** @internal */
export const formatParseError = (error: ParseResult.ParseError): string => {
  const byPath = new Map<string, Array<string>>()
  for (const issue of ParseResult.ArrayFormatter.formatErrorSync(error)) {
    const key = pathOf(issue.path)
    const messages = byPath.get(key) ?? []
    // unions report one "Expected X, actual v" per member: merge them
    const m = /^Expected (.*), actual (.*)$/s.exec(issue.message)
    const previous = messages.length > 0 ? /^Expected (.*), actual (.*)$/s.exec(messages[messages.length - 1] ?? "") : null
    if (m !== null && previous !== null && previous[2] === m[2]) {
      messages[messages.length - 1] = `Expected ${previous[1]} | ${m[1]}, actual ${m[2]}`
    } else if (!messages.includes(issue.message)) {
      messages.push(issue.message)
    }
    byPath.set(key, messages)
  }
  // Optional fields add "Expected undefined" alternatives: drop them, and drop
  // a parent's line when a deeper line already says what is wrong.
  const paths = [...byPath.keys()]
  return [...byPath]
    .map(([path, messages]) => {
      const deeper = paths.some((other) => other !== path && (path === "(root)" || other.startsWith(`${path}.`) || other.startsWith(`${path}[`)))
      const kept = messages
        .filter((message) => !(deeper && /^Expected undefined, actual /.test(message)))
        .map((message) => message.replace(/ \| undefined(?=, actual )/, ""))
      return kept.length === 0 ? undefined : `${path}: ${kept.join("; ")}`
    })
    .filter((line): line is string => line !== undefined)
    .join("\n")
}
