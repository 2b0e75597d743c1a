import { HttpClient } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Queue, Redacted, Stream } from "effect"
import { createServer } from "node:http"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import * as ModelStatus from "../src/ModelStatus.js"
import * as NodeStatusServer from "../src/NodeStatusServer.js"
import * as StatusServer from "../src/StatusServer.js"
import { ioTurn } from "./support/clock.js"
import { openStream, rawRequest } from "./support/rawHttp.js"
import { HttpLive } from "./support/simulator.js"

const lists = { image: [{ model: "gemini-3-pro-image-preview", vendor: "google" }, { model: "<img src=x onerror=alert(1)>", vendor: "bytedance" }] }

const serveWith = (options: NodeStatusServer.Options) =>
  Effect.gen(function*() {
    const status = yield* ModelStatus.make({ lists })
    const server = yield* NodeStatusServer.make(options).pipe(Effect.provideService(ModelStatus.ModelStatus, status))
    return { status, server }
  })
const serve = serveWith({})

const TOKEN = "status-token-0123456789abcdef"
const bearer = { authorization: `Bearer ${TOKEN}` }

/** The directives of a Content-Security-Policy header. */
const directives = (header: string | ReadonlyArray<string> | undefined) =>
  new Map(String(header ?? "").split(";").map((d) => d.trim()).filter((d) => d !== "").map((d) => {
    const [name, ...values] = d.split(/\s+/)
    return [name!, values] as const
  }))

/** Connect to the event stream until one more is refused (bounded), then free one and connect again. */
const fill = (port: number, max: number) =>
  Effect.gen(function*() {
    const open: Array<{ readonly close: Effect.Effect<void> }> = []
    for (let i = 0; i < max; i++) {
      const stream = yield* openStream(port, "/status/events")
      expect(stream.status).toBe(200)
      open.push(stream)
    }
    return open
  })

/** Read the event stream for the length of the scope: each snapshot it sends, in a queue. */
const subscribe = (url: string) =>
  Effect.gen(function*() {
    const response = yield* HttpClient.get(`${url}/status/events`)
    const received = yield* Queue.unbounded<ModelStatus.StatusSnapshot>()
    yield* response.stream.pipe(
      Stream.decodeText(),
      Stream.mapConcat((chunk) => chunk.split("\n\n").filter((e) => e.startsWith("data: "))),
      Stream.runForEach((e) => Queue.offer(received, JSON.parse(e.slice(6)) as ModelStatus.StatusSnapshot)),
      Effect.forkScoped
    )
    return { response, received }
  })

describe("StatusServer", () => {
  it.scoped("serve runs on the HttpServer the app provides, with the Host check and the security headers", () =>
    Effect.gen(function*() {
      const status = yield* ModelStatus.make({ lists })
      const server = yield* StatusServer.serve().pipe(Effect.provideService(ModelStatus.ModelStatus, status))
      const ok = yield* rawRequest(server.port, "/status", { headers: { host: `127.0.0.1:${server.port}` } })
      expect(ok.status).toBe(200)
      expect(JSON.parse(ok.body)).toMatchObject({ models: [{ model: "gemini-3-pro-image-preview" }, { health: "normal" }] })
      expect(ok.headers["content-security-policy"]).toContain("default-src 'none'")
      expect((yield* rawRequest(server.port, "/status", { headers: { host: "evil.example" } })).status).toBe(403)
    }).pipe(Effect.provide([CircuitBreaker.layer(), NodeHttpServer.layer(createServer, { host: "127.0.0.1", port: 0 })])))

  it.scoped("GET /status is the snapshot as JSON", () =>
    Effect.gen(function*() {
      const { server, status } = yield* serve
      for (let i = 0; i < 3; i++) yield* status.record({ model: "gemini-3-pro-image-preview", outcome: "failure", latencyMs: 1, category: "hard", reason: "Overloaded" })
      const body = yield* HttpClient.get(`${server.url}/status`).pipe(Effect.flatMap((r) => r.json))
      expect(body).toMatchObject({ models: [{ model: "gemini-3-pro-image-preview", health: "unavailable" }, { health: "normal" }] })
    }).pipe(Effect.provide([CircuitBreaker.layer(), HttpLive])))

  it.scoped("GET /status/events sends the snapshot at once and again on every change", () =>
    Effect.gen(function*() {
      const { server, status } = yield* serve
      const { received, response } = yield* subscribe(server.url)
      expect(response.headers["content-type"]).toMatch(/^text\/event-stream/)
      const first = yield* Queue.take(received)
      expect(first.models[0]).toMatchObject({ model: "gemini-3-pro-image-preview", health: "normal" })
      // failures until the model turns unavailable; the change must arrive as an event
      let pushed: ModelStatus.StatusSnapshot | undefined
      for (let i = 0; i < 50 && pushed === undefined; i++) {
        yield* status.record({ model: "gemini-3-pro-image-preview", outcome: "failure", latencyMs: 1, category: "hard", reason: "Overloaded" })
        yield* ioTurn
        const next = yield* Queue.poll(received)
        if (next._tag === "Some" && next.value.models[0]?.health === "unavailable") pushed = next.value
      }
      expect(pushed?.models[0]).toMatchObject({ health: "unavailable", reason: expect.stringMatching(/consecutive failures/) })
    }).pipe(Effect.provide([CircuitBreaker.layer(), HttpLive])))

  it.scoped("GET / is a page with a row per model, coloured by health, every name escaped", () =>
    Effect.gen(function*() {
      const { server } = yield* serve
      const html = yield* HttpClient.get(`${server.url}/`).pipe(Effect.flatMap((r) => r.text))
      expect(html).toContain(`<tr data-model="gemini-3-pro-image-preview" data-health="normal">`)
      expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;")
      expect(html).not.toContain("<img src=x")
      const css = yield* HttpClient.get(`${server.url}/status/page.css`).pipe(Effect.flatMap((r) => r.text))
      expect(css).toMatch(/\.badge\.unavailable\{background:rgb\(220,38,38\)\}/)
    }).pipe(Effect.provide([CircuitBreaker.layer(), HttpLive])))

  it.scoped("an unknown path is a 404", () =>
    Effect.gen(function*() {
      const { server } = yield* serve
      const response = yield* HttpClient.get(`${server.url}/nope`)
      expect(response.status).toBe(404)
    }).pipe(Effect.provide([CircuitBreaker.layer(), HttpLive])))

  it.scoped("a request whose Host is a foreign name is refused (403), whatever the path; loopback names are answered", () =>
    Effect.gen(function*() {
      const { server } = yield* serve
      for (const path of ["/", "/status", "/status/events", "/status/page.js"]) {
        const refused = yield* rawRequest(server.port, path, { headers: { host: `evil.example:${server.port}` } })
        expect([path, refused.status]).toEqual([path, 403])
        expect(refused.body).not.toContain("gemini")
      }
      for (const host of [`127.0.0.1:${server.port}`, `localhost:${server.port}`, `[::1]:${server.port}`, `LOCALHOST:${server.port}`]) {
        const answered = yield* rawRequest(server.port, "/status", { headers: { host } })
        expect([host, answered.status]).toEqual([host, 200])
      }
      expect((yield* rawRequest(server.port, "/status", { headers: { host: "localhost.evil.example" } })).status).toBe(403)
    }).pipe(Effect.provide([CircuitBreaker.layer(), HttpLive])))

  it.scoped("allowedHosts adds names the server answers to", () =>
    Effect.gen(function*() {
      const { server } = yield* serveWith({ allowedHosts: ["status.example.internal"] })
      expect((yield* rawRequest(server.port, "/status", { headers: { host: "status.example.internal:8443" } })).status).toBe(200)
      expect((yield* rawRequest(server.port, "/status", { headers: { host: "other.example.internal" } })).status).toBe(403)
    }).pipe(Effect.provide([CircuitBreaker.layer(), HttpLive])))

  it.scoped("every answer carries a strict Content-Security-Policy; the page has no inline script or style", () =>
    Effect.gen(function*() {
      const { server } = yield* serve
      const html = yield* rawRequest(server.port, "/")
      const csp = directives(html.headers["content-security-policy"])
      expect(csp.get("default-src")).toEqual(["'none'"])
      expect(csp.get("script-src")).toEqual(["'self'"])
      expect(csp.get("style-src")).toEqual(["'self'"])
      expect(csp.get("connect-src")).toEqual(["'self'"])
      expect(csp.get("frame-ancestors")).toEqual(["'none'"])
      expect(csp.get("base-uri")).toEqual(["'none'"])
      expect(String(html.headers["content-security-policy"])).not.toMatch(/unsafe|\*|data:|http/)
      expect(html.headers["x-content-type-options"]).toBe("nosniff")
      // what the policy would block must not be there: inline code, style attributes, other origins
      expect(html.body).not.toMatch(/<script>|<script [^>]*>[^<]|<style|style=|\son\w+="|https?:\/\//)
      expect(html.body).toContain(`<script src="status/page.js" defer></script>`)
      const js = yield* rawRequest(server.port, "/status/page.js")
      expect([js.status, js.headers["content-type"]]).toEqual([200, "text/javascript; charset=utf-8"])
      expect(js.body).toContain("new EventSource(\"status/events\")")
      const css = yield* rawRequest(server.port, "/status/page.css")
      expect([css.status, css.headers["content-type"]]).toEqual([200, "text/css; charset=utf-8"])
      expect(css.body).toContain(".w42{width:42%}")
      for (const path of ["/status", "/nope"]) {
        expect(directives((yield* rawRequest(server.port, path)).headers["content-security-policy"]).get("default-src")).toEqual(["'none'"])
      }
    }).pipe(Effect.provide([CircuitBreaker.layer(), HttpLive])))

  it.scoped("with a token: 401 without it on every data route, events too; the bearer token opens them; a wrong one does not", () =>
    Effect.gen(function*() {
      const { server } = yield* serveWith({ token: Redacted.make(TOKEN) })
      expect(server.tokenRequired).toBe(true)
      for (const path of ["/", "/status", "/status/events"]) {
        const denied = yield* rawRequest(server.port, path)
        expect([path, denied.status]).toEqual([path, 401])
        expect(denied.body).not.toContain("gemini-3-pro-image-preview")
        const wrong = yield* rawRequest(server.port, path, { headers: { authorization: `Bearer ${TOKEN}x` } })
        expect([path, wrong.status]).toEqual([path, 401])
        const allowed = yield* rawRequest(server.port, path, { headers: bearer })
        expect([path, allowed.status]).toEqual([path, 200])
        expect(allowed.body).toContain("gemini-3-pro-image-preview")
      }
      expect((yield* rawRequest(server.port, "/status")).headers["www-authenticate"]).toBe(`Bearer realm="status"`)
      // the page's code and looks carry no data: the login form needs them
      expect((yield* rawRequest(server.port, "/status/page.css")).status).toBe(200)
    }).pipe(Effect.provide([CircuitBreaker.layer(), HttpLive])))

  it.scoped("with a token: a browser posts it from the login form and gets a session cookie that opens the page and the events; the token is in neither", () =>
    Effect.gen(function*() {
      const { server } = yield* serveWith({ token: Redacted.make(TOKEN) })
      const form = yield* rawRequest(server.port, "/")
      expect(form.status).toBe(401)
      expect(form.body).toContain(`<form class="login" method="post" action="status/login">`)
      const form2 = { "content-type": "application/x-www-form-urlencoded" }
      const rejected = yield* rawRequest(server.port, "/status/login", { method: "POST", headers: form2, body: "token=guess" })
      expect([rejected.status, rejected.headers["set-cookie"]]).toEqual([401, undefined])
      const login = yield* rawRequest(server.port, "/status/login", { method: "POST", headers: form2, body: `token=${encodeURIComponent(TOKEN)}` })
      expect([login.status, login.headers["location"]]).toEqual([303, "../"])
      const setCookie = String(login.headers["set-cookie"])
      expect(setCookie).toMatch(/^ear_status_session=[\w-]+; Path=\/; HttpOnly; SameSite=Strict$/)
      expect(setCookie).not.toContain(TOKEN)
      expect(setCookie).not.toContain(Buffer.from(TOKEN).toString("base64").slice(0, 12))
      const cookie = setCookie.split(";")[0]!
      for (const path of ["/", "/status", "/status/events"]) {
        const opened = yield* rawRequest(server.port, path, { headers: { cookie } })
        expect([path, opened.status]).toEqual([path, 200])
        expect(opened.body).not.toContain(TOKEN)
      }
      expect((yield* rawRequest(server.port, "/status", { headers: { cookie: `${cookie}x` } })).status).toBe(401)
    }).pipe(Effect.provide([CircuitBreaker.layer(), HttpLive])))

  it.scoped("makeFromConfig takes the token from STATUS_TOKEN (trimmed); unset means none; blank is a ConfigError", () =>
    Effect.gen(function*() {
      const status = yield* ModelStatus.make({ lists })
      const withToken = yield* NodeStatusServer.makeFromConfig().pipe(
        Effect.provideService(ModelStatus.ModelStatus, status),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["STATUS_TOKEN", ` ${TOKEN}\n`]])))
      )
      expect((yield* rawRequest(withToken.port, "/status")).status).toBe(401)
      expect((yield* rawRequest(withToken.port, "/status", { headers: bearer })).status).toBe(200)
      const without = yield* NodeStatusServer.makeFromConfig().pipe(
        Effect.provideService(ModelStatus.ModelStatus, status),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
      )
      expect([without.tokenRequired, (yield* rawRequest(without.port, "/status")).status]).toEqual([false, 200])
      const blank = yield* Effect.flip(NodeStatusServer.makeFromConfig().pipe(
        Effect.provideService(ModelStatus.ModelStatus, status),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["STATUS_TOKEN", "  "]])))
      ))
      expect(blank._tag).toBe("ConfigError")
      expect(String(blank)).toContain("STATUS_TOKEN")
    }).pipe(Effect.provide([CircuitBreaker.layer(), HttpLive])))

  it.scoped("at most maxEventClients event streams: the next one gets a 503 with Retry-After; a freed slot is taken again", () =>
    Effect.gen(function*() {
      const { server } = yield* serveWith({ maxEventClients: 3 })
      const open = yield* fill(server.port, 3)
      const refused = yield* rawRequest(server.port, "/status/events")
      expect([refused.status, refused.headers["retry-after"]]).toEqual([503, "30"])
      // polling still works beyond the cap
      expect((yield* rawRequest(server.port, "/status")).status).toBe(200)
      yield* open[0]!.close
      // the server sees the close on its own time: try again a bounded number of I/O turns
      let status = 503
      for (let i = 0; i < 500 && status === 503; i++) {
        yield* ioTurn
        status = (yield* rawRequest(server.port, "/status/events")).status
      }
      expect(status).toBe(200)
      // and it was only one slot: with the three held again, the next is refused
      yield* openStream(server.port, "/status/events")
      expect((yield* rawRequest(server.port, "/status/events")).status).toBe(503)
    }).pipe(Effect.provide([CircuitBreaker.layer(), HttpLive])))

  it.scoped("every connected client gets each change", () =>
    Effect.gen(function*() {
      const { server, status } = yield* serve
      const clients = yield* Effect.forEach([1, 2, 3], () =>
        Effect.gen(function*() {
          const { received } = yield* subscribe(server.url)
          expect((yield* Queue.take(received)).models[0]?.health).toBe("normal")
          return received
        }))
      for (let i = 0; i < 3; i++) {
        yield* status.record({ model: "gemini-3-pro-image-preview", outcome: "failure", latencyMs: 1, category: "hard", reason: "Overloaded" })
      }
      for (const received of clients) {
        let last: ModelStatus.StatusSnapshot | undefined
        for (let i = 0; i < 200 && last?.models[0]?.health !== "unavailable"; i++) {
          yield* ioTurn
          const next = yield* Queue.poll(received)
          if (next._tag === "Some") last = next.value
        }
        expect(last?.models[0]?.health).toBe("unavailable")
      }
    }).pipe(Effect.provide([CircuitBreaker.layer(), HttpLive])))

  it.scoped("options that cannot work are a typed failure naming the option", () =>
    Effect.gen(function*() {
      const status = yield* ModelStatus.make({ lists })
      const run = (options: StatusServer.StatusServerOptions) =>
        Effect.flip(NodeStatusServer.make(options).pipe(Effect.provideService(ModelStatus.ModelStatus, status)))
      expect(yield* run({ maxEventClients: -1 })).toMatchObject({ _tag: "InvalidStatusServerOptions", message: expect.stringContaining("maxEventClients") })
      expect(yield* run({ maxEventClients: 1.5 })).toMatchObject({ _tag: "InvalidStatusServerOptions", message: expect.stringContaining("maxEventClients") })
      expect(yield* run({ allowedHosts: [" "] })).toMatchObject({ _tag: "InvalidStatusServerOptions", message: expect.stringContaining("allowedHosts[0]") })
      expect(yield* run({ token: Redacted.make("") })).toMatchObject({ _tag: "InvalidStatusServerOptions", message: expect.stringContaining("token") })
    }).pipe(Effect.provide([CircuitBreaker.layer(), HttpLive])))
})
