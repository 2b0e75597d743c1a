/**
 * Reading a JSON file whose problems are the user's: an unreadable file, one
 * larger than a configuration has any reason to be, text that is not JSON, or
 * JSON nested deeper than any configuration goes becomes a message naming the
 * file (and the place), never a throw.
 *
 * @internal
 */
import { FileSystem } from "@effect/platform"
import { Effect } from "effect"
import { readBounded } from "./http.js"

/**
 * The largest file read: a configuration with hundreds of models is a few
 * tens of kilobytes, and decoding time and the length of the error report
 * grow with the file.
 *
 * @internal
 */
export const maxJsonFileBytes = 1024 * 1024

/**
 * The deepest nesting accepted (the root object is level 1). Configurations
 * go four or five levels deep; decoding and reporting walk the tree, so a
 * bound keeps a pathological file from exhausting the stack.
 *
 * @internal
 */
export const maxJsonDepth = 64

/** How many leading steps of a too-deep path the message shows. */
const shownSteps = 8

const pathText = (steps: ReadonlyArray<string | number>): string =>
  steps.length === 0
    ? "(root)"
    : steps.slice(0, shownSteps).reduce<string>(
      (acc, key) => (typeof key === "number" ? `${acc}[${key}]` : acc.length === 0 ? key : `${acc}.${key}`),
      ""
    ) + (steps.length > shownSteps ? "…" : "")

interface Frame {
  readonly value: object
  readonly depth: number
  readonly steps: ReadonlyArray<string | number>
}

/**
 * The first place (depth-first, in document order) where `u` nests deeper
 * than `maxDepth`, if any. Iterative: the point is to refuse trees too deep
 * for recursion. Each value is visited once.
 *
 * @internal
 */
export const tooDeep = (u: unknown, maxDepth: number = maxJsonDepth): string | undefined => {
  if (typeof u !== "object" || u === null) return undefined
  const stack: Array<Frame> = [{ value: u, depth: 1, steps: [] }]
  while (stack.length > 0) {
    const frame = stack.pop()!
    if (frame.depth > maxDepth) return pathText(frame.steps)
    const children: Array<Frame> = []
    // the path is only kept while it can still be shown in full, so memory
    // stays linear in the file however deep it goes
    const extend = (key: string | number) => frame.steps.length > shownSteps ? frame.steps : [...frame.steps, key]
    if (Array.isArray(frame.value)) {
      frame.value.forEach((child: unknown, index) => {
        if (typeof child === "object" && child !== null) children.push({ value: child, depth: frame.depth + 1, steps: extend(index) })
      })
    } else {
      for (const [key, child] of Object.entries(frame.value)) {
        if (typeof child === "object" && child !== null) children.push({ value: child, depth: frame.depth + 1, steps: extend(key) })
      }
    }
    // pushed in reverse so that the first child is visited first
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!)
  }
  return undefined
}

/** @internal */
export const readJsonFile = (path: string): Effect.Effect<unknown, { readonly message: string }, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    // read in chunks and stop past the limit: a huge file (or a device that
    // never ends) is refused without being buffered
    const bytes = yield* readBounded(fs.stream(path), maxJsonFileBytes).pipe(
      Effect.mapError((e) =>
        e._tag === "TooLarge"
          ? { message: `${path} is larger than the 1 MiB limit of a configuration file` }
          : { message: `cannot read ${path}: ${e.error instanceof Error ? e.error.message : String(e.error)}` }
      )
    )
    const text = new TextDecoder().decode(bytes)
    const parsed = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (e) => ({ message: `${path} is not valid JSON: ${e instanceof Error ? e.message : String(e)}` })
    })
    const deep = tooDeep(parsed)
    return deep === undefined
      ? parsed
      : yield* Effect.fail({ message: `${path}: ${deep}: nested deeper than ${maxJsonDepth} levels` })
  })
