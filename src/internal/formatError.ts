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

/**
 * How many fields a message lists at most: a file with thousands of bad entries
 * is refused with the first few and a count of the rest, not a wall of text.
 *
 * @internal
 */
export const maxListedProblems = 20

/**
 * One line per field with a problem, in the order Schema reports them.
 *
 * @internal
 */
export const formatParseErrorLines = (error: ParseResult.ParseError): Array<string> => {
  const byPath = new Map<string, Array<string>>()
  // every path that has a deeper one below it, found from each issue's own
  // prefixes (comparing every path with every other is quadratic in the issues)
  const hasDeeper = new Set<string>()
  for (const issue of ParseResult.ArrayFormatter.formatErrorSync(error)) {
    const key = pathOf(issue.path)
    for (let n = 0; n < issue.path.length; n++) hasDeeper.add(pathOf(issue.path.slice(0, n)))
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
  const lines: Array<string> = []
  for (const [path, messages] of byPath) {
    const deeper = hasDeeper.has(path)
    const kept = messages
      .filter((message) => !(deeper && /^Expected undefined, actual /.test(message)))
      .map((message) => message.replace(/ \| undefined(?=, actual )/, ""))
    if (kept.length > 0) lines.push(`${path}: ${kept.join("; ")}`)
  }
  return lines
}

/**
 * The line that stands for what was left out of a list of problems, if anything was.
 *
 * @internal
 */
export const notListed = (problems: number, entries: number = 0): ReadonlyArray<string> => {
  const parts = [
    ...(problems > 0 ? [`${problems} more problem${problems === 1 ? "" : "s"}`] : []),
    ...(entries > 0 ? [`${entries} more entr${entries === 1 ? "y" : "ies"} with problems`] : [])
  ]
  return parts.length === 0 ? [] : [`… and ${parts.join(" and ")} not listed`]
}

/** @internal */
export const formatParseError = (error: ParseResult.ParseError, limit: number = maxListedProblems): string => {
  const lines = formatParseErrorLines(error)
  return [...lines.slice(0, limit), ...notListed(lines.length - limit)].join("\n")
}
