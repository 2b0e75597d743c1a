/**
 * The status server's optional access token.
 *
 * Programs send it as `Authorization: Bearer <token>`. A browser cannot: its
 * `EventSource` sends no custom headers, and a token in the page's URL would
 * end up in its history, in proxies' logs and in server spans. So a browser
 * posts the token once from a login form and gets a session cookie instead
 * (`HttpOnly`, `SameSite=Strict`), which same-origin `fetch` and
 * `EventSource` send by themselves. The cookie's value is an HMAC of the
 * token under a key drawn when the server starts: it reveals nothing of the
 * token and stops working when the server restarts.
 *
 * Every comparison hashes both sides first and compares the digests in
 * constant time, so neither the time taken nor the length reveals anything.
 *
 * @internal
 */
import { Redacted } from "effect"
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto"

/** @internal */
export const cookieName = "ear_status_session"

const digest = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest()

/** @internal */
export interface Auth {
  /** The token itself, as sent in an `Authorization` header or posted from the login form. */
  readonly isToken: (candidate: string) => boolean
  /** Does this request carry the token (bearer) or a session cookie? */
  readonly authorized: (authorization: string | undefined, cookies: Readonly<Record<string, string>>) => boolean
  /** The `Set-Cookie` value of a session. */
  readonly sessionCookie: string
}

/** @internal */
export const make = (token: Redacted.Redacted<string>): Auth => {
  // trimmed as the login form trims what is posted: a token set with blanks around it still logs in
  const value = Redacted.value(token).trim()
  const tokenDigest = digest(value)
  const session = createHmac("sha256", randomBytes(32)).update(value, "utf8").digest("base64url")
  const sessionDigest = digest(session)
  const same = (candidate: string, expected: Buffer) => timingSafeEqual(digest(candidate), expected)
  const isToken = (candidate: string) => same(candidate, tokenDigest)
  return {
    isToken,
    authorized: (authorization, cookies) => {
      const bearer = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? "")
      if (bearer !== null && isToken(bearer[1]!)) return true
      const cookie = cookies[cookieName]
      return cookie !== undefined && same(cookie, sessionDigest)
    },
    sessionCookie: `${cookieName}=${session}; Path=/; HttpOnly; SameSite=Strict`
  }
}
