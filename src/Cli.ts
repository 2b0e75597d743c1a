/**
 * The command-line interface (`effect-ai-resilience`): `demo` runs the main
 * job against the in-process simulator; `simulate` serves the simulator.
 *
 * Exit codes: 0 success; 1 the demo saw an unexpected classification or a
 * command failed; 2 bad input (a config file that does not decode, bad flags).
 *
 * @since 0.1.0
 */
import { Command, Options } from "@effect/cli"
import { FileSystem } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Console, Data, Duration, Effect, Option, Schema } from "effect"
import * as Demo from "./Demo.js"
import { formatParseError } from "./internal/formatError.js"
import * as Simulator from "./Simulator.js"

/**
 * Bad input from the user: exits with code 2 and a message naming the field.
 *
 * @since 0.1.0
 */
export class InputError extends Data.TaggedError("InputError")<{ readonly message: string }> {}

/**
 * The demo reported steps whose classification differed from the expectation.
 *
 * @since 0.1.0
 */
export class DemoMismatch extends Data.TaggedError("DemoMismatch")<{ readonly message: string }> {}

const json = Options.boolean("json").pipe(Options.withDescription("Print a machine-readable JSON report instead of text"))

const demo = Command.make("demo", { json }, ({ json }) =>
  Effect.gen(function*() {
    if (!json) {
      yield* Console.log("effect-ai-resilience demo: a scripted session through the real adapters against the in-process provider simulator\n")
    }
    const outcomes = yield* Demo.run({
      onStep: (outcome, index) => (json ? Effect.void : Console.log(Demo.formatStep(outcome, index)))
    }).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici))
    const summary = Demo.summarize(outcomes)
    if (json) {
      yield* Console.log(JSON.stringify({
        summary,
        steps: outcomes.map(({ failure, ...rest }) => ({
          ...rest,
          ...(failure === undefined ? {} : {
            failure: {
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
            }
          })
        }))
      }, null, 2))
    } else {
      yield* Console.log(`\n${summary.asExpected}/${summary.steps} steps classified as expected`)
      yield* Console.log(`by category/reason: ${Object.entries(summary.byClass).map(([k, n]) => `${k} ×${n}`).join(", ")}`)
    }
    if (summary.asExpected !== summary.steps) {
      return yield* new DemoMismatch({ message: `${summary.steps - summary.asExpected} step(s) were not classified as expected` })
    }
  })
).pipe(Command.withDescription("Run the main job: the simulator in-process and a scripted session through the real adapters"))

const configFile = Options.file("config", { exists: "yes" }).pipe(
  Options.withDescription("Simulator configuration (JSON); default: the built-in SPEC §4 scenario"),
  Options.optional
)
const port = Options.integer("port").pipe(Options.withDescription("Port on 127.0.0.1 (0 = any free port)"), Options.optional)
const timeScale = Options.float("time-scale").pipe(Options.withDescription("Simulated seconds per real second"), Options.optional)
const seed = Options.integer("seed").pipe(Options.withDescription("PRNG seed"), Options.optional)

/**
 * Read and decode a simulator config file; errors name the file and field.
 *
 * @since 0.1.0
 */
export const loadSimulatorConfig = (path: string): Effect.Effect<Simulator.SimulatorConfig, InputError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(path).pipe(
      Effect.mapError((e) => new InputError({ message: `cannot read ${path}: ${e.message}` }))
    )
    const parsed = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (e) => new InputError({ message: `${path} is not valid JSON: ${e instanceof Error ? e.message : String(e)}` })
    })
    return yield* Simulator.decodeConfig(parsed).pipe(
      Effect.mapError((e) => new InputError({ message: `${path} is not a valid simulator config:\n${formatParseError(e).replace(/^/gm, "  ")}` }))
    )
  })

/**
 * The flags of the `simulate` command.
 *
 * @since 0.1.0
 */
export interface SimulateFlags {
  /** A config file (JSON); none: the built-in {@link Simulator.defaultScenario}. */
  readonly config: Option.Option<string>
  readonly port: Option.Option<number>
  readonly timeScale: Option.Option<number>
  readonly seed: Option.Option<number>
}

const flagNames: Readonly<Record<string, string>> = { port: "--port", timeScale: "--time-scale", seed: "--seed" }

/**
 * The configuration `simulate` serves: the config file (or the built-in
 * scenario) with `--port`, `--time-scale` and `--seed` laid over it, decoded
 * as a whole. Anything invalid is an {@link InputError} whose message names
 * the field (`port: Expected …`).
 *
 * @since 0.1.0
 */
export const resolveSimulatorConfig = (
  flags: SimulateFlags
): Effect.Effect<Simulator.SimulatorConfig, InputError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const base = Option.isSome(flags.config) ? yield* loadSimulatorConfig(flags.config.value) : Simulator.defaultScenario
    const overrides = {
      ...Option.match(flags.port, { onNone: () => ({}), onSome: (port) => ({ port }) }),
      ...Option.match(flags.timeScale, { onNone: () => ({}), onSome: (timeScale) => ({ timeScale }) }),
      ...Option.match(flags.seed, { onNone: () => ({}), onSome: (seed) => ({ seed }) })
    }
    if (Object.keys(overrides).length === 0) return base
    // The base is valid: encode it back to its JSON form, lay the flags over it
    // and decode the result, so the flags get the same checks as a file.
    const encoded = yield* Schema.encode(Simulator.SimulatorConfig)(base).pipe(Effect.orDie)
    return yield* Simulator.decodeConfig({ ...encoded, ...overrides }).pipe(
      Effect.mapError((e) => {
        const given = Object.keys(overrides).map((key) => flagNames[key] ?? key).join(", ")
        return new InputError({ message: `invalid simulator settings (from ${given}):\n${formatParseError(e).replace(/^/gm, "  ")}` })
      })
    )
  })

const simulate = Command.make("simulate", { config: configFile, port, timeScale, seed }, (flags) =>
  Effect.gen(function*() {
    const config = yield* resolveSimulatorConfig(flags)
    const sim = yield* Simulator.make(config)
    yield* Console.log(`provider simulator listening on ${sim.url}`)
    yield* Console.log(`  OpenAI-compatible: ${sim.url}/v1/chat/completions, /v1/images/generations, /v1/videos`)
    yield* Console.log(`  Gemini:            ${sim.url}/v1beta/models/{model}:generateContent`)
    yield* Console.log(`  state:             ${sim.url}/_simulator/state`)
    yield* Console.log(`  models: ${config.models.map((m) => `${m.id} (${m.kind})`).join(", ")}`)
    yield* Console.log(`  time scale ×${config.timeScale}, seed ${config.seed}; Ctrl-C to stop`)
    return yield* Effect.never
  }).pipe(Effect.scoped)
).pipe(Command.withDescription("Serve the provider simulator (real HTTP, real wire formats) until interrupted"))

const root = Command.make("effect-ai-resilience").pipe(
  Command.withDescription(
    "Resilience for AI generation APIs.\n\nExit codes: 0 ok; 1 failure (or the demo saw an unexpected classification); 2 bad input (config file, flags)."
  ),
  Command.withSubcommands([demo, simulate])
)

/**
 * The CLI as an Effect of its arguments.
 *
 * @since 0.1.0
 */
export const cli = Command.run(root, { name: "effect-ai-resilience", version: "0.1.0" })
