import { HttpRouter, HttpServer, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted, Ref } from "effect"
import { createServer } from "node:http"
import * as Gemini from "../src/Gemini.js"
import * as OpenAICompatible from "../src/OpenAICompatible.js"
import { Message, TextRequest, ToolCall, ToolDefinition } from "../src/TextGeneration.js"
import { HttpLive } from "./support/simulator.js"

/** A loopback server that records each JSON request body and answers with `reply`. */
const captureServer = (reply: unknown) =>
  Effect.gen(function*() {
    const bodies = yield* Ref.make<ReadonlyArray<unknown>>([])
    const app = HttpRouter.empty.pipe(
      HttpRouter.all("*", Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const body = yield* request.json
        yield* Ref.update(bodies, (all) => [...all, body])
        return yield* HttpServerResponse.json(reply)
      }).pipe(Effect.orDie))
    )
    const context = yield* Layer.build(
      HttpServer.serve(app).pipe(Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })))
    )
    const server = yield* Effect.provide(HttpServer.HttpServer, context)
    const address = server.address
    if (address._tag !== "TcpAddress") return yield* Effect.dieMessage("expected a TCP address")
    return { url: `http://127.0.0.1:${address.port}`, bodies: Ref.get(bodies) }
  })

const conversation = TextRequest.make({
  model: "m",
  messages: [
    Message.make({ role: "user", content: "Weather in Kyoto?" }),
    Message.make({ role: "assistant", content: null, toolCalls: [ToolCall.make({ id: "call_1", name: "get_weather", arguments: `{"city":"Kyoto"}` })] }),
    Message.make({ role: "tool", content: `{"sky":"clear"}`, toolCallId: "call_1" })
  ],
  tools: [ToolDefinition.make({ name: "get_weather", parameters: { type: "object" } })]
})

describe("continuing a conversation after a tool call", () => {
  it.scoped("OpenAI-compatible: the assistant turn carries tool_calls and the tool turn its tool_call_id", () =>
    Effect.gen(function*() {
      const server = yield* captureServer({
        choices: [{ message: { role: "assistant", content: "It is clear in Kyoto." }, finish_reason: "stop" }]
      })
      const provider = yield* OpenAICompatible.make({ baseUrl: server.url, apiKey: Redacted.make("sk-test-0000") })
      const result = yield* provider.generateText(conversation)
      expect(result.content).toBe("It is clear in Kyoto.")
      const [body] = (yield* server.bodies) as ReadonlyArray<{ messages: ReadonlyArray<unknown> }>
      expect(body?.messages).toEqual([
        { role: "user", content: "Weather in Kyoto?" },
        { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: `{"city":"Kyoto"}` } }] },
        { role: "tool", content: `{"sky":"clear"}`, tool_call_id: "call_1" }
      ])
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("Gemini: functionCall in the model turn, functionResponse named after the call", () =>
    Effect.gen(function*() {
      const server = yield* captureServer({
        candidates: [{ content: { role: "model", parts: [{ text: "It is clear in Kyoto." }] }, finishReason: "STOP" }]
      })
      const provider = yield* Gemini.make({ baseUrl: server.url, apiKey: Redacted.make("AIza-test-0000") })
      const result = yield* provider.generateText(conversation)
      expect(result.content).toBe("It is clear in Kyoto.")
      const [body] = (yield* server.bodies) as ReadonlyArray<{ contents: ReadonlyArray<unknown> }>
      expect(body?.contents).toEqual([
        { role: "user", parts: [{ text: "Weather in Kyoto?" }] },
        { role: "model", parts: [{ functionCall: { name: "get_weather", args: { city: "Kyoto" } } }] },
        { role: "user", parts: [{ functionResponse: { name: "get_weather", response: { sky: "clear" } } }] }
      ])
    }).pipe(Effect.provide(HttpLive)))
})
