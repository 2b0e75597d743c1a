/**
 * What the CLI writes for people: text made safe for a terminal, and the log
 * lines on stderr.
 *
 * Providers' error messages, generated text and revised prompts are printed
 * in reports, progress lines and logs. A terminal obeys what it is sent:
 * an escape sequence can set the window title or recolour the screen, a
 * carriage return can draw a forged summary over the real one, and bidi
 * overrides can reorder what is shown. Every such character is replaced by a
 * visible escape (`\x1b`, `\r`, `\u202e`) before it is written. JSON output
 * is never passed through here: it carries the provider's text exactly.
 *
 * @internal
 */
import { Cause, HashMap, Inspectable, List, Logger, LogSpan } from "effect"

/**
 * C0 controls (newline and tab too), DEL, C1 controls (8-bit CSI and OSC
 * among them), the bidi embeddings, overrides and isolates, the bidi marks,
 * and the line and paragraph separators some terminals break lines at.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

const named: Readonly<Record<string, string>> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" }

const visible = (char: string): string => {
  const known = named[char]
  if (known !== undefined) return known
  const code = char.charCodeAt(0)
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`
}

/**
 * One line of text safe to print: every control, bidi or line-breaking
 * character is replaced by a visible escape; everything else is unchanged.
 *
 * @internal
 */
export const neutralise = (text: string): string => text.replace(UNSAFE, visible)

/**
 * Several lines of our own (a report, a stack trace): the line breaks are
 * kept, everything else as in {@link neutralise}.
 *
 * @internal
 */
export const neutraliseLines = (text: string): string => text.split("\n").map(neutralise).join("\n")

const two = (n: number) => String(n).padStart(2, "0")
const time = (date: Date) =>
  `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, "0")}`

/** A value on one line (objects as compact JSON), redacted where it asks to be. */
const render = (value: unknown): string => Inspectable.toStringUnknown(Inspectable.redact(value), 0)

/**
 * The CLI's log lines: the layout of Effect's pretty logger without colours
 * (`[time] LEVEL (fiber) spans: message`, then the cause and the annotations
 * indented), every piece neutralised, written with `console.error` (stderr),
 * so stdout carries only the commands' results.
 *
 * @internal
 */
export const stderrLogger: Logger.Logger<unknown, void> = Logger.make<unknown, string>(
  ({ annotations, cause, date, fiberId, logLevel, message, spans }) => {
    const parts = Array.isArray(message) ? message : [message]
    let first = `[${time(date)}] ${logLevel.label} (#${fiberId._tag === "Runtime" ? fiberId.id : "-"})`
    if (List.isCons(spans)) {
      const now = date.getTime()
      for (const span of spans) first += ` ${neutralise(LogSpan.render(now)(span))}`
    }
    first += ":"
    let rest = parts
    if (typeof parts[0] === "string") {
      first += ` ${neutralise(parts[0])}`
      rest = parts.slice(1)
    }
    const lines = [first]
    if (!Cause.isEmpty(cause)) {
      for (const line of Cause.pretty(cause, { renderErrorCause: true }).split("\n")) lines.push(`  ${neutralise(line)}`)
    }
    for (const part of rest) lines.push(`  ${neutralise(render(part))}`)
    for (const [key, value] of HashMap.toEntries(annotations)) lines.push(`  ${neutralise(key)}: ${neutralise(render(value))}`)
    return lines.join("\n")
  }
).pipe(Logger.withConsoleError)
