/**
 * Reading a JSON file whose problems are the user's: an unreadable file or
 * text that is not JSON becomes a message naming the file (never a throw).
 *
 * @internal
 */
import { FileSystem } from "@effect/platform"
import { Effect } from "effect"

/** @internal */
export const readJsonFile = (path: string): Effect.Effect<unknown, { readonly message: string }, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(path).pipe(Effect.mapError((e) => ({ message: `cannot read ${path}: ${e.message}` })))
    return yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (e) => ({ message: `${path} is not valid JSON: ${e instanceof Error ? e.message : String(e)}` })
    })
  })
