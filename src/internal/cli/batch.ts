/**
 * Batches for the CLI's `text` / `image` / `video` commands: run `count`
 * requests with bounded concurrency, show progress (a bar on a terminal,
 * plain lines otherwise) and collect a report.
 *
 * @internal
 */
import { Clock, Duration, Effect, Exit } from "effect"
import type { AttemptRecord, Served } from "../../FallbackChain.js"
import { type GenerationFailure, isGenerationFailure } from "../../Failure.js"
import type { ResilientFailure } from "../../ResilientClient.js"

/** @internal */
export interface BatchItem {
  readonly index: number
  readonly ok: boolean
  readonly model?: string
  readonly fellBack?: boolean
  readonly durationMs: number
  readonly cost: number
  /** One line for people: what was served, or why it failed. */
  readonly summary: string
  readonly attempts: ReadonlyArray<AttemptRecord>
  readonly failure?: Record<string, unknown>
}

/** @internal */
export const failureJson = (failure: GenerationFailure): Record<string, unknown> => ({
  _tag: failure._tag,
  reason: failure.reason,
  provider: failure.provider,
  model: failure.model,
  status: failure.status,
  message: failure.message,
  param: failure.param,
  code: failure.code,
  requestId: failure.requestId,
  retryAfterMs: failure.retryAfter === undefined ? undefined : Duration.toMillis(failure.retryAfter)
})

/** What a batch call can fail with: a resilient-client failure or another tagged error with a message. */
type BatchFailure = ResilientFailure | { readonly _tag: string; readonly message: string }

const resilientFailureJson = (failure: BatchFailure): Record<string, unknown> =>
  isGenerationFailure(failure) ? failureJson(failure) : { _tag: failure._tag, message: failure.message }

const describe = (failure: BatchFailure): string =>
  isGenerationFailure(failure)
    ? `${failure._tag}(${failure.reason})${failure.status === undefined ? "" : ` HTTP ${failure.status}`}${failure.param === undefined ? "" : ` param=${failure.param}`} — ${failure.message.slice(0, 160)}`
    : `${failure._tag} — ${failure.message.slice(0, 200)}`

/** @internal */
export interface Progress {
  readonly update: (done: number, ok: number, failed: number, item: BatchItem) => Effect.Effect<void>
  readonly finish: Effect.Effect<void>
}

/** A bar redrawn in place on a terminal (stderr), or one line per request (stderr when stdout carries JSON). */
export const progress = (total: number, options: { readonly tty: boolean; readonly write: (text: string) => void }): Progress => {
  if (options.tty) {
    const width = 30
    return {
      update: (done, ok, failed) =>
        Effect.sync(() => {
          const filled = Math.round((done / total) * width)
          options.write(`\r[${"█".repeat(filled)}${"░".repeat(width - filled)}] ${done}/${total} · ${ok} ok · ${failed} failed`)
        }),
      finish: Effect.sync(() => options.write("\n"))
    }
  }
  return {
    update: (done, _ok, _failed, item) =>
      Effect.sync(() => options.write(`[${done}/${total}] #${item.index + 1} ${item.ok ? "ok" : "FAILED"} ${item.summary} (${(item.durationMs / 1000).toFixed(1)} s)\n`)),
    finish: Effect.void
  }
}

/** Run `count` calls, at most `concurrency` at once. Never fails: each failure is an item. */
export const runBatch = <A>(
  count: number,
  concurrency: number,
  call: (index: number) => Effect.Effect<Served<A>, BatchFailure>,
  describeValue: (served: Served<A>) => string,
  bar: Progress
): Effect.Effect<ReadonlyArray<BatchItem>> =>
  Effect.gen(function*() {
    let done = 0
    let ok = 0
    let failed = 0
    const items = yield* Effect.forEach(
      Array.from({ length: count }, (_, i) => i),
      (index) =>
        Effect.gen(function*() {
          const t0 = yield* Clock.currentTimeMillis
          const exit = yield* Effect.exit(call(index))
          const durationMs = (yield* Clock.currentTimeMillis) - t0
          let item: BatchItem
          if (Exit.isSuccess(exit)) {
            const served = exit.value
            item = {
              index,
              ok: true,
              model: served.model,
              fellBack: served.fellBack,
              durationMs,
              cost: served.cost,
              summary: `${served.model}${served.fellBack ? " (fallback)" : ""}: ${describeValue(served)}`,
              attempts: served.attempts
            }
            ok++
          } else {
            const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
            item = error === undefined
              ? { index, ok: false, durationMs, cost: 0, summary: "interrupted or defect", attempts: [] }
              : {
                index,
                ok: false,
                durationMs,
                cost: 0,
                summary: describe(error),
                attempts: "attempts" in error && Array.isArray(error.attempts) ? error.attempts as ReadonlyArray<AttemptRecord> : [],
                failure: resilientFailureJson(error)
              }
            failed++
          }
          done++
          yield* bar.update(done, ok, failed, item)
          return item
        }),
      { concurrency }
    )
    yield* bar.finish
    return items
  })
