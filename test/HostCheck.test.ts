import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { isIP } from "node:net"
import { hostCheck } from "../src/internal/hostCheck.js"

const allowed = hostCheck("127.0.0.1", ["status.internal"])

describe("the Host check of our loopback servers", () => {
  it.prop("any IP literal is answered, with or without a port, as node:net reads it", [fc.oneof(fc.ipV4(), fc.ipV6()), fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined })], ([ip, port]) => {
    expect(isIP(ip)).not.toBe(0)
    const host = ip.includes(":") ? `[${ip}]` : ip
    expect(allowed(port === undefined ? host : `${host}:${port}`)).toBe(true)
  })

  it.prop("a domain name is refused unless it is localhost, under .localhost or allowed", [fc.domain()], ([name]) => {
    const expected = name === "localhost" || name.endsWith(".localhost") || name === "status.internal"
    expect(allowed(`${name}:8080`)).toBe(expected)
  })

  it("names that only look like addresses are refused", () => {
    for (const host of ["1.2.3", "256.1.1.1", "01.2.3.4", "1::2::3", "[evil.example]", "127.0.0.1.evil.example", ""]) {
      expect([host, allowed(host)]).toEqual([host, false])
    }
    expect(allowed(undefined)).toBe(false)
    expect(allowed("LOCALHOST:80")).toBe(true)
    expect(allowed("Status.Internal.")).toBe(true)
  })
})
