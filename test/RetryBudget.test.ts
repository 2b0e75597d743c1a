import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, FastCheck as fc } from "effect"
import * as RetryBudget from "../src/RetryBudget.js"

describe("RetryBudget", () => {
  it.effect("starts full at maxTokens 10 with tokenRatio 0.1 by default", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make()
      expect(yield* budget.tokens).toBe(10)
      expect(yield* budget.canRetry).toBe(true)
      expect(RetryBudget.defaults).toEqual({ maxTokens: 10, tokenRatio: 0.1 })
    }))

  it.effect("each failure costs one token; retries stop once tokens are not above maxTokens / 2", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make()
      const seen: Array<readonly [number, boolean]> = []
      for (let i = 0; i < 6; i++) {
        yield* budget.recordFailure
        seen.push([yield* budget.tokens, yield* budget.canRetry])
      }
      expect(seen).toEqual([[9, true], [8, true], [7, true], [6, true], [5, false], [4, false]])
    }))

  it.effect("ten successes earn back one token, without floating-point drift", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make()
      for (let i = 0; i < 5; i++) yield* budget.recordFailure
      expect(yield* budget.canRetry).toBe(false)
      for (let i = 0; i < 10; i++) yield* budget.recordSuccess
      expect(yield* budget.tokens).toBe(6)
      expect(yield* budget.canRetry).toBe(true)
    }))

  it.effect("tokens never exceed maxTokens nor fall below 0", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make({ maxTokens: 2, tokenRatio: 0.5 })
      for (let i = 0; i < 5; i++) yield* budget.recordSuccess
      expect(yield* budget.tokens).toBe(2)
      for (let i = 0; i < 5; i++) yield* budget.recordFailure
      expect(yield* budget.tokens).toBe(0)
    }))

  it.effect("unlimited never blocks", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 100; i++) yield* RetryBudget.unlimited.recordFailure
      expect(yield* RetryBudget.unlimited.canRetry).toBe(true)
      expect(yield* RetryBudget.unlimited.tokens).toBe(Infinity)
    }))

  it.effect("invalid options fail with InvalidRetryOptions naming the field", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [RetryBudget.RetryBudgetOptions, string]> = [
        [{ maxTokens: 0 }, "maxTokens"],
        [{ maxTokens: -3 }, "maxTokens"],
        [{ maxTokens: NaN }, "maxTokens"],
        [{ maxTokens: Infinity }, "maxTokens"],
        [{ tokenRatio: -0.1 }, "tokenRatio"],
        [{ tokenRatio: NaN }, "tokenRatio"]
      ]
      for (const [options, field] of cases) {
        const result = yield* Effect.either(RetryBudget.make(options))
        expect(Either.isLeft(result)).toBe(true)
        if (Either.isLeft(result)) {
          expect(result.left._tag).toBe("InvalidRetryOptions")
          expect(result.left.field).toBe(field)
          expect(result.left.message).toMatch(new RegExp(`^${field}: `))
        }
      }
      // plain JavaScript passing `undefined` gets the default
      const budget = yield* RetryBudget.make({ maxTokens: undefined } as unknown as RetryBudget.RetryBudgetOptions)
      expect(yield* budget.tokens).toBe(10)
    }))

  it.prop(
    "matches a token-bucket model over any sequence of outcomes",
    [fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 3000 }), fc.array(fc.boolean(), { maxLength: 60 })],
    ([maxTokens, ratioMilli, outcomes]) =>
      Effect.runSync(Effect.gen(function*() {
        const budget = yield* RetryBudget.make({ maxTokens, tokenRatio: ratioMilli / 1000 })
        let model = maxTokens * 1000 // thousandths of a token
        for (const success of outcomes) {
          yield* success ? budget.recordSuccess : budget.recordFailure
          model = success ? Math.min(maxTokens * 1000, model + ratioMilli) : Math.max(0, model - 1000)
          const tokens = yield* budget.tokens
          expect(tokens).toBe(model / 1000)
          expect(tokens).toBeGreaterThanOrEqual(0)
          expect(tokens).toBeLessThanOrEqual(maxTokens)
          expect(yield* budget.canRetry).toBe(tokens > maxTokens / 2)
        }
      })),
    { fastCheck: { numRuns: 200 } }
  )
})
