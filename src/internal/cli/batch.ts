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
import { neutralise } from "./terminal.js"

/** @internal */
export interface BatchItem {
  readonly index: number
  /** The request was served (a model produced the result). */
  readonly ok: boolean
  readonly model?: string | undefined
  readonly fellBack?: boolean | undefined
  readonly durationMs: number
  /** What the provider billed for this request: the priced successful calls in its attempt log. */
  readonly cost: number
  /** One line for people: what was served, or why it failed. */
  readonly summary: string
  readonly attempts: ReadonlyArray<AttemptRecord>
  readonly failure?: Record<string, unknown> | undefined
  /** Files the result was written to. */
  readonly saved?: ReadonlyArray<string> | undefined
  /** The result was served (and billed) but could not be written where asked. */
  readonly saveFailure?: SaveFailure | undefined
  /** The run was stopped while this request was in flight; `attempts` are the ones that had finished. */
  readonly interrupted?: true | undefined
}

/**
 * Keeping a served result failed. `keptAt` names the files it was written to
 * instead, so what was paid for is not lost.
 *
 * @internal
 */
export interface SaveFailure {
  readonly message: string
  readonly keptAt?: ReadonlyArray<string> | undefined
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

/** A bar redrawn in place on a terminal, or one line per request (its summary neutralised: it quotes the provider). */
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
      Effect.sync(() =>
        options.write(`${neutralise(`[${done}/${total}] #${item.index + 1} ${item.ok ? "ok" : "FAILED"} ${item.summary} (${(item.durationMs / 1000).toFixed(1)} s)`)}\n`)
      ),
    finish: Effect.void
  }
}

/** @internal */
export interface BatchOptions<A> {
  readonly count: number
  readonly concurrency: number
  /**
   * One request. `onAttempt` is that request's own hook: pass it in the call's
   * options. Being a function of its own, it also keeps the client from
   * sharing one upstream call between the items of a batch (identical
   * requests in flight share a call, and a hook is part of what makes two
   * requests identical): a batch of N is N generations, each billed.
   */
  readonly call: (index: number, hooks: { readonly onAttempt: (record: AttemptRecord) => Effect.Effect<void> }) => Effect.Effect<Served<A>, BatchFailure>
  /** Keep a served result (write it to disk); the paths written. */
  readonly keep?: ((index: number, served: Served<A>) => Effect.Effect<ReadonlyArray<string>, SaveFailure>) | undefined
  readonly describeValue: (served: Served<A>) => string
  readonly bar: Progress
  /**
   * Runs if the batch is interrupted (Ctrl-C), with the items that finished
   * and, marked `interrupted`, the ones in flight that had made attempts.
   */
  readonly onInterrupt?: ((partial: ReadonlyArray<BatchItem>) => Effect.Effect<void>) | undefined
}

const billed = (attempts: ReadonlyArray<AttemptRecord>) => attempts.reduce((sum, a) => sum + (a.cost ?? 0), 0)

/** Run `count` calls, at most `concurrency` at once. Never fails: each failure is an item. */
export const runBatch = <A>(options: BatchOptions<A>): Effect.Effect<ReadonlyArray<BatchItem>> =>
  Effect.suspend(() => {
    const { bar, call, count, describeValue, keep } = options
    let done = 0
    let ok = 0
    let failed = 0
    const finished: Array<BatchItem> = []
    /** The attempts of the requests in flight, by index. */
    const inFlight = new Map<number, { readonly t0: number; readonly attempts: Array<AttemptRecord> }>()
    const one = (index: number) =>
      Effect.gen(function*() {
        const t0 = yield* Clock.currentTimeMillis
        const live = { t0, attempts: [] as Array<AttemptRecord> }
        inFlight.set(index, live)
        const exit = yield* Effect.exit(call(index, { onAttempt: (record) => Effect.sync(() => { live.attempts.push(record) }) }))
        let item: BatchItem
        if (Exit.isSuccess(exit)) {
          const served = exit.value
          const kept = keep === undefined ? undefined : yield* Effect.either(keep(index, served))
          item = {
            index,
            ok: true,
            model: served.model,
            fellBack: served.fellBack,
            durationMs: (yield* Clock.currentTimeMillis) - t0,
            cost: served.cost,
            summary: `${served.model}${served.fellBack ? " (fallback)" : ""}: ${describeValue(served)}` +
              (kept?._tag === "Left" ? ` — NOT SAVED: ${kept.left.message}` : ""),
            attempts: served.attempts,
            ...(kept === undefined ? {} : kept._tag === "Right" ? { saved: kept.right } : { saveFailure: kept.left })
          }
          ok++
        } else {
          const durationMs = (yield* Clock.currentTimeMillis) - t0
          const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
          const attempts = error !== undefined && "attempts" in error && Array.isArray(error.attempts)
            ? error.attempts as ReadonlyArray<AttemptRecord>
            : live.attempts
          item = error === undefined
            ? { index, ok: false, durationMs, cost: billed(attempts), summary: "interrupted or defect", attempts }
            : { index, ok: false, durationMs, cost: billed(attempts), summary: describe(error), attempts, failure: resilientFailureJson(error) }
          failed++
        }
        inFlight.delete(index)
        finished.push(item)
        done++
        yield* bar.update(done, ok, failed, item)
        return item
      })
    const partial = Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const cut: Array<BatchItem> = [...inFlight].filter(([, live]) => live.attempts.length > 0).map(([index, live]) => ({
        index,
        ok: false,
        durationMs: Math.max(0, now - live.t0),
        cost: billed(live.attempts),
        summary: "interrupted in flight",
        attempts: live.attempts,
        interrupted: true
      }))
      return options.onInterrupt === undefined ? Effect.void : options.onInterrupt([...finished, ...cut].sort((a, b) => a.index - b.index))
    })
    return Effect.forEach(Array.from({ length: count }, (_, i) => i), one, { concurrency: options.concurrency }).pipe(
      Effect.onInterrupt(() => Effect.zipRight(bar.finish, partial)),
      Effect.tap(bar.finish)
    )
  })
