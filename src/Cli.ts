/**
 * The command-line interface (`effect-ai-resilience`): `demo` runs the main
 * job (an outage drill against the in-process simulator), `walkthrough`
 * classifies one request of each kind, `simulate` serves the simulator.
 *
 * Exit codes: 0 success; 1 the demo or walkthrough did not see what it checks
 * for, or a command failed; 2 bad input (a config file that does not decode,
 * bad flags).
 *
 * @since 0.1.0
 */
import { Command, HelpDoc, Options, ValidationError } from "@effect/cli"
import { FileSystem, type HttpClient, type Path } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Clock, Config, ConfigProvider, Console, Data, Duration, Effect, Layer, Option, Redacted, Schema, type Scope } from "effect"
import * as CircuitBreaker from "./CircuitBreaker.js"
import * as ClientConfig from "./ClientConfig.js"
import * as Demo from "./Demo.js"
import * as ImageDelivery from "./ImageDelivery.js"
import type * as FallbackChain from "./FallbackChain.js"
import { type BatchItem, failureJson, progress, runBatch } from "./internal/cli/batch.js"
import * as ResilientClient from "./ResilientClient.js"
import * as RetryPolicy from "./RetryPolicy.js"
import { formatParseError } from "./internal/formatError.js"
import { decodeBounded } from "./internal/boundedDecode.js"
import { readJsonFile } from "./internal/jsonFile.js"
import * as ModelStatus from "./ModelStatus.js"
import * as Simulator from "./Simulator.js"
import * as StatusServer from "./StatusServer.js"
import { Message } from "./TextGeneration.js"
import * as Walkthrough from "./Walkthrough.js"

/**
 * Bad input from the user: exits with code 2 and a message naming the field.
 *
 * @since 0.1.0
 */
export class InputError extends Data.TaggedError("InputError")<{ readonly message: string }> {}

/**
 * A run that checks itself (the demo, the walkthrough) saw something it did
 * not expect: exits with code 1.
 *
 * @since 0.1.0
 */
export class CheckFailed extends Data.TaggedError("CheckFailed")<{ readonly message: string }> {}

const json = Options.boolean("json").pipe(Options.withDescription("Print a machine-readable JSON report instead of text"))

/**
 * A numeric flag whose refusal names it. The parser's own integer and float
 * flags answer `'1e309' is not a integer` without saying which flag, and
 * take `NaN`, `Infinity` and `1e309` (Infinity) as floats; here the text must
 * be a finite number (a whole one for `integer`). The range of each flag is
 * checked where it is used.
 */
const numberFlag = (name: string, kind: "integer" | "number") =>
  Options.text(name).pipe(
    Options.withPseudoName(kind),
    Options.mapEffect((text) => {
      const value = text.trim() === "" ? Number.NaN : Number(text)
      return (kind === "integer" ? Number.isSafeInteger(value) : Number.isFinite(value))
        ? Effect.succeed(value)
        : Effect.fail(ValidationError.invalidValue(HelpDoc.p(
          `--${name}: must be ${kind === "integer" ? "an integer" : "a finite number"}, got ${JSON.stringify(text)}`
        )))
    })
  )


const requests = numberFlag("requests", "integer").pipe(
  Options.withDescription("Image requests in the batch (1–100000)"),
  Options.withDefault(240)
)
const demoSeed = numberFlag("seed", "integer").pipe(Options.withDescription("Seed of the simulator's random draws"), Options.optional)
const statusPort = numberFlag("status-port", "integer").pipe(
  Options.withDescription("Port of the status page on 127.0.0.1 (default: any free port)"),
  Options.withDefault(0)
)
const hold = Options.boolean("hold").pipe(Options.withDescription("Keep the simulator and the status page up after the report, until Ctrl-C"))

/**
 * The flags of the `demo` command, checked: an {@link InputError} names the
 * flag that is out of range.
 *
 * @since 0.1.0
 */
export const checkDemoFlags = (flags: { readonly requests: number }): Effect.Effect<void, InputError> =>
  !Number.isSafeInteger(flags.requests) || flags.requests < 1 || flags.requests > 100_000
    ? Effect.fail(new InputError({ message: `--requests: must be an integer from 1 to 100000, got ${flags.requests}` }))
    : Effect.void

const demo = Command.make("demo", { json, requests, seed: demoSeed, statusPort, hold }, (flags) =>
  Effect.gen(function*() {
    yield* checkDemoFlags(flags)
    // before the banner: bad input leaves stdout empty
    if (!Number.isSafeInteger(flags.statusPort) || flags.statusPort < 0 || flags.statusPort > 65_535) {
      return yield* new InputError({ message: `--status-port: must be a port from 0 to 65535, got ${flags.statusPort}` })
    }
    const log = (line: string) => (flags.json ? Effect.void : Console.log(line))
    yield* log(
      `effect-ai-resilience demo: an outage drill. The provider simulator runs in-process (real HTTP on 127.0.0.1);\n` +
        `${flags.requests} image requests go through the resilient client (SPEC §4 priority list) while the primary,\n` +
        `${Demo.imageModels[0]!.model}, is overloaded from ${Demo.clock(Demo.scenario.models[0]!.outages[0]!.startMinute * 60_000)} ` +
        `for ${Demo.scenario.models[0]!.outages[0]!.durationMinutes} minutes (simulated time; the clock jumps ahead whenever every call is waiting).`
    )
    yield* Effect.scoped(Effect.gen(function*() {
      const t0 = Date.now()
      const report = yield* Demo.run({
        requests: flags.requests,
        statusPort: flags.statusPort,
        ...(Option.isSome(flags.seed) ? { seed: flags.seed.value } : {})
      }).pipe(Effect.mapError((e) => new InputError({ message: `cannot serve the demo (port in use?): ${e.message}` })))
      const wallMs = Date.now() - t0
      const results = Demo.checks(report)
      if (flags.json) {
        const { outcomes, ...rest } = report
        yield* Console.log(JSON.stringify({ ...rest, wallMs, checks: results, outcomes }, null, 2))
      } else {
        yield* log(`\n${Demo.formatReport(report)}\n`)
        yield* log(`simulated ${Duration.format(Duration.seconds(Math.round(report.simulatedMs / 1000)))} in ${(wallMs / 1000).toFixed(1)} s of real time`)
        for (const c of results) yield* log(`${c.ok ? "✓" : "✗"} ${c.name}: ${c.detail}`)
      }
      if (flags.hold) {
        yield* Console.error(`holding: the status page stays at ${report.statusUrl}/ until Ctrl-C`)
        return yield* Effect.never
      }
      const failing = results.filter((c) => !c.ok)
      if (failing.length > 0) {
        return yield* new CheckFailed({ message: `the drill did not show: ${failing.map((c) => c.name).join("; ")}` })
      }
    }))
  }).pipe(Effect.provide(NodeHttpClient.layerUndici))
).pipe(Command.withDescription(
  "Run the main job: an outage drill — the simulator in-process, the primary image model overloaded, a batch through the resilient client, and a report"
))

const walkthrough = Command.make("walkthrough", { json }, ({ json }) =>
  Effect.gen(function*() {
    if (!json) {
      yield* Console.log("effect-ai-resilience walkthrough: one request for each kind of outcome, through the real adapters against the in-process simulator\n")
    }
    const outcomes = yield* Walkthrough.run({
      onStep: (outcome, index) => (json ? Effect.void : Console.log(Walkthrough.formatStep(outcome, index)))
    }).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici))
    const summary = Walkthrough.summarize(outcomes)
    if (json) {
      yield* Console.log(JSON.stringify({
        summary,
        steps: outcomes.map(({ failure, ...rest }) => ({ ...rest, ...(failure === undefined ? {} : { failure: failureJson(failure) }) }))
      }, null, 2))
    } else {
      yield* Console.log(`\n${summary.asExpected}/${summary.steps} steps classified as expected`)
      yield* Console.log(`by category/reason: ${Object.entries(summary.byClass).map(([k, n]) => `${k} ×${n}`).join(", ")}`)
    }
    if (summary.asExpected !== summary.steps) {
      return yield* new CheckFailed({ message: `${summary.steps - summary.asExpected} step(s) were not classified as expected` })
    }
  })
).pipe(Command.withDescription("Classify one request of each kind (hard, soft, silent failures and successes) through the real adapters"))

/**
 * Some requests of a `text` / `image` / `video` run failed: exits with code 1
 * (the report says which and why).
 *
 * @since 0.1.0
 */
export class RequestsFailed extends Data.TaggedError("RequestsFailed")<{ readonly message: string }> {}

/**
 * A `--config` file that must exist. A missing one is a validation error
 * naming the flag ("--config: no such file: models.json"), where the parser's
 * own check would say only "Path 'models.json' must exist".
 */
const existingConfigFile = Options.file("config").pipe(
  Options.mapEffect((path) =>
    Effect.flatMap(FileSystem.FileSystem, (fs) => fs.exists(path)).pipe(
      Effect.orElseSucceed(() => false),
      Effect.flatMap((exists) =>
        exists ? Effect.succeed(path) : Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--config: no such file: ${path}`)))
      )
    )
  )
)

const clientConfig = existingConfigFile.pipe(
  Options.withDescription("Client configuration (JSON): models in priority order per operation, key variables, prices, policy options")
)
const promptText = Options.text("prompt").pipe(Options.withDescription("The prompt"))
const count = numberFlag("count", "integer").pipe(Options.withDescription("How many requests to send (a batch)"), Options.withDefault(1))
const concurrency = numberFlag("concurrency", "integer").pipe(Options.withDescription("How many requests at once"), Options.withDefault(4))

const checkBatchFlags = (flags: { readonly count: number; readonly concurrency: number }): Effect.Effect<void, InputError> =>
  !Number.isSafeInteger(flags.count) || flags.count < 1 || flags.count > 100_000
    ? Effect.fail(new InputError({ message: `--count: must be an integer from 1 to 100000, got ${flags.count}` }))
    : !Number.isSafeInteger(flags.concurrency) || flags.concurrency < 1 || flags.concurrency > 1_000
    ? Effect.fail(new InputError({ message: `--concurrency: must be an integer from 1 to 1000, got ${flags.concurrency}` }))
    : Effect.void

/**
 * The key variables a config file names, read once, with the blanks and line
 * breaks around each value removed (a key saved with `echo key > file` ends in
 * a newline). HTTP trims a header's value, so an untrimmed key would be sent —
 * and echoed back by the provider — in a form the scrubber does not know.
 * A variable that is not set stays unset (the build reports it).
 */
const trimmedKeys = (file: ClientConfig.ClientConfigFile): Effect.Effect<ConfigProvider.ConfigProvider> =>
  Effect.gen(function*() {
    const values = new Map<string, string>()
    for (const { entry } of ClientConfig.entries(file)) {
      if (values.has(entry.apiKeyEnv)) continue
      const value = yield* Effect.option(Config.redacted(entry.apiKeyEnv))
      if (Option.isSome(value)) values.set(entry.apiKeyEnv, Redacted.value(value.value).trim())
    }
    return ConfigProvider.fromMap(values)
  })

/**
 * The resilient client described by a config file, with its policies. Every
 * problem with the file (including a key variable that is not set) is an
 * {@link InputError} naming the field; nothing is sent.
 *
 * @since 0.1.0
 */
export const clientFromFile = (
  path: string,
  extra: Partial<ResilientClient.ResilientClientConfig> = {}
): Effect.Effect<ResilientClient.ResilientClientService, InputError, FileSystem.FileSystem | HttpClient.HttpClient | Scope.Scope> =>
  Effect.gen(function*() {
    const toInput = (e: { readonly message: string }) => new InputError({ message: e.message })
    const file = yield* ClientConfig.load(path).pipe(Effect.mapError(toInput))
    const keys = yield* trimmedKeys(file)
    const routes = yield* ClientConfig.build(file, path).pipe(Effect.withConfigProvider(keys), Effect.mapError(toInput))
    const policies = Layer.mergeAll(RetryPolicy.layer(ClientConfig.retryOptions(file)), CircuitBreaker.layer(ClientConfig.breakerOptions(file)))
    const context = yield* Layer.build(policies).pipe(
      Effect.mapError((e) => new InputError({ message: `${path}: ${e._tag === "InvalidRetryOptions" ? "retry" : "breaker"}.${e.message}` }))
    )
    return yield* ResilientClient.make({ ...routes, ...extra }).pipe(
      Effect.provide(context),
      Effect.mapError((e) =>
        new InputError({
          message: `${path}: ${
            e._tag === "InvalidLoadControlOptions" ? "load" : e._tag === "InvalidRequestCacheOptions" ? "cacheTtl" : "image delivery"
          }: ${e.message}`
        })
      )
    )
  })

const batchReport = (items: ReadonlyArray<BatchItem>) => {
  const served = items.filter((i) => i.ok)
  const durations = served.map((i) => i.durationMs).sort((a, b) => a - b)
  const at = (p: number) => durations.length === 0 ? 0 : durations[Math.min(durations.length - 1, Math.ceil(p * durations.length) - 1)]!
  return {
    requests: items.length,
    served: served.length,
    fellBack: served.filter((i) => i.fellBack === true).length,
    failed: items.length - served.length,
    cost: items.reduce((sum, i) => sum + i.cost, 0),
    latencyMs: { p50: at(0.5), p95: at(0.95), p99: at(0.99) }
  }
}

const runAndReport = <A>(
  flags: { readonly json: boolean; readonly count: number; readonly concurrency: number },
  call: (index: number) => Effect.Effect<FallbackChain.Served<A>, ResilientClient.ResilientFailure | ImageDelivery.ImageSaveFailed>,
  describeValue: (served: FallbackChain.Served<A>) => string
) =>
  Effect.gen(function*() {
    const bar = progress(flags.count, {
      tty: !flags.json && process.stderr.isTTY === true,
      write: (text) => flags.json || process.stderr.isTTY === true ? process.stderr.write(text) : process.stdout.write(text)
    })
    const items = yield* runBatch(flags.count, flags.concurrency, call, describeValue, bar)
    const report = batchReport(items)
    if (flags.json) {
      yield* Console.log(JSON.stringify({ ...report, items }, null, 2))
    } else {
      if (flags.count === 1) {
        const item = items[0]!
        for (const a of item.attempts) {
          yield* Console.log(`  ${a.model} #${a.attempt}: ${a.outcome}${a.reason === undefined ? "" : ` ${a.category ?? ""}/${a.reason}`}${a.status === undefined ? "" : ` HTTP ${a.status}`} (${(a.durationMs / 1000).toFixed(1)} s)`)
        }
      }
      yield* Console.log(
        `${report.requests} request(s): ${report.served} served (${report.fellBack} by a fallback), ${report.failed} failed; cost $${report.cost.toFixed(3)}; ` +
          `latency p50 ${(report.latencyMs.p50 / 1000).toFixed(1)} s, p95 ${(report.latencyMs.p95 / 1000).toFixed(1)} s`
      )
    }
    if (report.failed > 0) return yield* new RequestsFailed({ message: `${report.failed} of ${report.requests} request(s) failed` })
  })

const text = Command.make("text", { config: clientConfig, prompt: promptText, count, concurrency, json }, (flags) =>
  Effect.gen(function*() {
    yield* checkBatchFlags(flags)
    const client = yield* clientFromFile(flags.config)
    yield* runAndReport(
      flags,
      () => client.generateText({ messages: [Message.make({ role: "user", content: flags.prompt })] }),
      (served) => served.value.content === null ? `tool calls: ${served.value.toolCalls.map((c) => c.name).join(", ")}` : JSON.stringify(served.value.content.slice(0, 200))
    )
  }).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici))
).pipe(Command.withDescription("Generate text along the config's text models (retries, breakers, fallback); --count for a batch"))

const imageCount = numberFlag("images", "integer").pipe(Options.withDescription("Images per request (split into single calls for models that take one)"), Options.withDefault(1))
const outDir = Options.directory("out").pipe(Options.withDescription("Write each image to this directory (request-<i>-<n>.<ext>)"), Options.optional)

const image = Command.make("image", { config: clientConfig, prompt: promptText, n: imageCount, out: outDir, count, concurrency, json }, (flags) =>
  Effect.gen(function*() {
    yield* checkBatchFlags(flags)
    if (!Number.isSafeInteger(flags.n) || flags.n < 1 || flags.n > 10) {
      return yield* new InputError({ message: `--images: must be an integer from 1 to 10, got ${flags.n}` })
    }
    const client = yield* clientFromFile(flags.config)
    const files = yield* Effect.context<FileSystem.FileSystem | Path.Path>()
    const saved = new Map<number, ReadonlyArray<string>>()
    yield* runAndReport(
      flags,
      (index) =>
        client.generateImage({ prompt: flags.prompt, ...(flags.n === 1 ? {} : { n: flags.n }) }).pipe(
          Effect.tap((served) =>
            Option.match(flags.out, {
              onNone: () => Effect.void,
              onSome: (dir) =>
                ImageDelivery.saveTo(dir, { prefix: `request-${index + 1}` })(served.value).pipe(
                  Effect.map((written) => saved.set(index, written.map((f) => f.path))),
                  Effect.provide(files)
                )
            })
          )
        ),
      (served) =>
        served.value.images.map((i) => `${i.mimeType} ${i.bytes.byteLength} bytes${i.source === "url" ? " (downloaded)" : ""}`).join(", ") +
        (served.value.images[0]?.revisedPrompt === undefined ? "" : `; revised prompt: ${JSON.stringify(served.value.images[0].revisedPrompt.slice(0, 60))}`)
    ).pipe(Effect.ensuring(
      Effect.suspend(() => saved.size === 0 || flags.json ? Effect.void : Console.log(`saved: ${[...saved.values()].flat().join(", ")}`))
    ))
  }).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici))
).pipe(Command.withDescription("Generate images along the config's image models; URL outputs are downloaded at once; --out DIR saves them"))

const videoSeconds = numberFlag("seconds", "integer").pipe(Options.withDescription("Length of the video in seconds"), Options.optional)
const videoOut = Options.file("out").pipe(Options.withDescription("Write the video to this file"), Options.optional)

const video = Command.make("video", { config: clientConfig, prompt: promptText, seconds: videoSeconds, out: videoOut, json }, (flags) =>
  Effect.gen(function*() {
    // checked here, so that a bad length is refused before anything starts and named by
    // its flag (the request's own schema would only refuse it once the job is under way)
    if (Option.isSome(flags.seconds) && flags.seconds.value < 1) {
      return yield* new InputError({ message: `--seconds: must be a whole number of seconds, at least 1, got ${flags.seconds.value}` })
    }
    const client = yield* clientFromFile(flags.config)
    const fs = yield* FileSystem.FileSystem
    const log = (line: string) => (flags.json ? Effect.sync(() => process.stderr.write(`${line}\n`)) : Console.log(line))
    const t0 = yield* Clock.currentTimeMillis
    const since = Effect.map(Clock.currentTimeMillis, (now) => `${((now - t0) / 1000).toFixed(0).padStart(4)} s`)
    const exit = yield* Effect.exit(client.generateVideo(
      { prompt: flags.prompt, ...Option.match(flags.seconds, { onNone: () => ({}), onSome: (seconds) => ({ seconds }) }) },
      {
        onProgress: (event) =>
          Effect.flatMap(since, (at) =>
            log(
              event._tag === "Submitted"
                ? `${at}  ${event.model}: submitted, task ${event.taskId}`
                : event._tag === "Status"
                ? `${at}  ${event.model}: ${event.rawStatus}${event.progress === undefined ? "" : ` ${event.progress}%`}`
                : event._tag === "FellOver"
                ? `${at}  ${event.from}: giving up (${event.reason}: ${event.message.slice(0, 120)}); trying the next model`
                : `${at}  ${event.model}: downloaded ${event.bytes} bytes`
            ))
      }
    ))
    if (exit._tag === "Failure") {
      const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
      if (flags.json) {
        yield* Console.log(JSON.stringify({
          ok: false,
          failure: error === undefined ? String(exit.cause) : error._tag === "VideoJobFailed"
            ? { _tag: error._tag, message: error.message, attempts: error.attempts.map((a) => ({ ...a, failure: a.failure === undefined ? undefined : failureJson(a.failure) })) }
            : failureJson(error)
        }, null, 2))
      }
      return yield* new RequestsFailed({ message: error === undefined ? "the video job was interrupted" : error.message })
    }
    const job = exit.value
    if (Option.isSome(flags.out) && job.video !== undefined) {
      yield* fs.writeFile(flags.out.value, job.video.bytes).pipe(
        Effect.mapError((e) => new InputError({ message: `--out: cannot write ${flags.out.pipe(Option.getOrElse(() => ""))}: ${e.message}` }))
      )
    }
    if (flags.json) {
      yield* Console.log(JSON.stringify({
        ok: true,
        model: job.model,
        fellBack: job.fellBack,
        cost: job.cost,
        task: { id: job.task.id, status: job.task.status, rawStatus: job.task.rawStatus },
        video: job.video === undefined ? undefined : { bytes: job.video.bytes.byteLength, mimeType: job.video.mimeType },
        attempts: job.attempts.map((a) => ({ ...a, failure: a.failure === undefined ? undefined : failureJson(a.failure) }))
      }, null, 2))
    } else {
      yield* Console.log(
        `served by ${job.model}${job.fellBack ? " (fallback)" : ""}: ${job.video === undefined ? "no download" : `${job.video.mimeType}, ${job.video.bytes.byteLength} bytes`}` +
          `${Option.isSome(flags.out) ? ` → ${flags.out.value}` : ""}; cost $${job.cost.toFixed(2)}`
      )
    }
  }).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici))
).pipe(Command.withDescription("Generate a video along the config's video models: submit, poll, fall over, download at once"))

const pagePort = numberFlag("port", "integer").pipe(Options.withDescription("Port of the page on 127.0.0.1 (0 = any free port)"), Options.withDefault(8787))
const probeInterval = numberFlag("probe-interval", "integer").pipe(
  Options.withDescription("Seconds between two probes of a model (each probe is a 1-token text or one image: it costs the model's price)"),
  Options.withDefault(300)
)

const status = Command.make("status", { config: clientConfig, port: pagePort, probeInterval }, (flags) =>
  Effect.gen(function*() {
    if (!Number.isSafeInteger(flags.port) || flags.port < 0 || flags.port > 65_535) {
      return yield* new InputError({ message: `--port: must be a port from 0 to 65535, got ${flags.port}` })
    }
    // at most a day: past Effect's timer range (about 24 days) a probe would silently never run
    if (!Number.isSafeInteger(flags.probeInterval) || flags.probeInterval < 10 || flags.probeInterval > 86_400) {
      return yield* new InputError({ message: `--probe-interval: must be a whole number of seconds from 10 to 86400, got ${flags.probeInterval}` })
    }
    const client = yield* clientFromFile(flags.config, {
      probes: {
        always: true,
        interval: Duration.seconds(flags.probeInterval),
        text: { messages: [Message.make({ role: "user", content: "ping" })], maxTokens: 1 },
        image: { prompt: "a small grey dot on white" }
      }
    })
    const server = yield* StatusServer.make({ port: flags.port, title: "Model status" }).pipe(
      Effect.provideService(ModelStatus.ModelStatus, client.status),
      Effect.mapError((e) => new InputError({ message: `--port: cannot serve on ${flags.port}: ${e.message}` }))
    )
    yield* Console.log(`status page: ${server.url}/   (JSON: ${server.url}/status, events: ${server.url}/status/events)`)
    yield* Console.log(`probing every model every ${flags.probeInterval} s; Ctrl-C to stop`)
    return yield* Effect.never
  }).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici))
).pipe(Command.withDescription("Serve the status page for a config's models, judged from probes (and any traffic of this process)"))

const configFile = existingConfigFile.pipe(
  Options.withDescription("Simulator configuration (JSON); default: the built-in SPEC §4 scenario"),
  Options.optional
)
const port = numberFlag("port", "integer").pipe(Options.withDescription("Port on 127.0.0.1 (0 = any free port)"), Options.optional)
const timeScale = numberFlag("time-scale", "number").pipe(Options.withDescription("Simulated seconds per real second"), Options.optional)
const seed = numberFlag("seed", "integer").pipe(Options.withDescription("PRNG seed"), Options.optional)

/**
 * Read and decode a simulator config file; errors name the file and field.
 *
 * @since 0.1.0
 */
export const loadSimulatorConfig = (path: string): Effect.Effect<Simulator.SimulatorConfig, InputError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const parsed = yield* readJsonFile(path).pipe(Effect.mapError((e) => new InputError({ message: e.message })))
    // the same checks as Simulator.decodeConfig; the report lists the first problems of a huge file
    return yield* decodeBounded(Simulator.SimulatorConfig, [{ key: "models", entry: Simulator.ModelProfile }], parsed).pipe(
      Effect.mapError((lines) => new InputError({ message: `${path} is not a valid simulator config:\n${lines.join("\n").replace(/^/gm, "  ")}` }))
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
    "Resilience for AI generation APIs.\n\nExit codes: 0 ok; 1 failure (or the demo / walkthrough did not see what it checks for); 2 bad input (config file, flags)."
  ),
  Command.withSubcommands([demo, walkthrough, text, image, video, status, simulate])
)

/**
 * The CLI as an Effect of its arguments.
 *
 * @since 0.1.0
 */
export const cli = Command.run(root, { name: "effect-ai-resilience", version: "0.1.0" })

/**
 * The exit code of a CLI run: 0 success; 1 a command failed or a run that
 * checks itself did not see what it checks for; 2 bad input (flags, a config
 * file), after which nothing has been started. The error goes to stderr as
 * `error: …` (bad flags are reported by the parser itself).
 *
 * @since 0.1.0
 */
export const exitCode = (argv: ReadonlyArray<string>) =>
  cli(argv).pipe(
    Effect.as(0),
    Effect.catchTags({
      InputError: (e) => Effect.as(Console.error(`error: ${e.message}`), 2),
      RequestsFailed: (e) => Effect.as(Console.error(`error: ${e.message}`), 1),
      CheckFailed: (e) => Effect.as(Console.error(`error: ${e.message}`), 1)
    }),
    Effect.catchIf(ValidationError.isValidationError, () => Effect.succeed(2))
  )
