import { it, expect } from "@effect/vitest"
import { Effect } from "effect"
it.effect("smoke", () => Effect.gen(function*() { expect(yield* Effect.succeed(1)).toBe(1) }))
