/**
 * The process around the CLI: where logs and crash reports go, and the exit
 * code of a run a signal stopped.
 *
 * @internal
 */
import { Cause, Console, Effect, Exit, Logger, LogLevel } from "effect"
import { neutraliseLines, stderrLogger } from "./terminal.js"

/**
 * Exit codes of a run stopped by a signal, as a shell reports a process the
 * signal killed (128 + the signal's number).
 *
 * @internal
 */
export const signalExitCodes = { SIGINT: 130, SIGTERM: 143 } as const

/** @internal */
export type StopSignal = keyof typeof signalExitCodes

/**
 * Run the CLI's effect (which yields its exit code) with the CLI's logging:
 * log lines go to stderr, neutralised, and only errors unless `--log-level`
 * asks for more (the commands print their own reports). A defect — a bug —
 * is reported on stderr and exits 1; stdout carries only results. An
 * interruption stays an interruption, for {@link exitCodeOf} to map.
 *
 * @internal
 */
export const program = <E, R>(run: Effect.Effect<number, E, R>): Effect.Effect<number, never, R> =>
  run.pipe(
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause)
        ? Effect.interrupt
        : Effect.as(Console.error(neutraliseLines(`internal error (a bug — please report it):\n${Cause.pretty(cause)}`)), 1)
    ),
    Logger.withMinimumLogLevel(LogLevel.Error),
    Effect.provide(Logger.replace(Logger.defaultLogger, stderrLogger))
  )

/**
 * The exit code of a finished {@link program}: its own code, or for an
 * interruption the code of the signal that caused it (Ctrl-C when none was
 * seen).
 *
 * @internal
 */
export const exitCodeOf = (exit: Exit.Exit<number, unknown>, signal: StopSignal | undefined): number =>
  Exit.isSuccess(exit) ? exit.value : Cause.isInterruptedOnly(exit.cause) ? signalExitCodes[signal ?? "SIGINT"] : 1
