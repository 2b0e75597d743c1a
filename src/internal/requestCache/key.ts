/**
 * Cache keys: a canonical JSON form of a request.
 *
 * Object keys are sorted and `undefined` fields dropped, so two requests that
 * would put the same bytes on the wire get the same key. Values JSON cannot
 * hold are spelled out rather than lost: bytes as base64, bigints as decimal
 * strings, and functions (hooks such as `onAttempt`, validators' checks) by
 * identity, so the same function shares a key and another function does not.
 * A cycle is marked rather than followed (`JSON.stringify` would throw).
 *
 * @internal
 */

/** Stable ids for functions, by identity; a function collected is forgotten. */
const functionIds = new WeakMap<Function, number>()
let nextFunctionId = 0

/** Marks start with NUL, which requests' own strings do not hold in practice. */
const functionMark = (f: Function): string => {
  let id = functionIds.get(f)
  if (id === undefined) {
    id = ++nextFunctionId
    functionIds.set(f, id)
  }
  return `\u0000function#${id}`
}

const cycleMark = "\u0000cycle"

const normalize = (value: unknown, ancestors: Set<object>): unknown => {
  switch (typeof value) {
    case "bigint":
      return value.toString()
    case "function":
      return functionMark(value)
    case "object": {
      if (value === null) return null
      if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64")
      if (ancestors.has(value)) return cycleMark
      ancestors.add(value)
      try {
        if (Array.isArray(value)) return value.map((item) => normalize(item, ancestors))
        const record = value as Record<string, unknown>
        // no prototype: a "__proto__" field is kept as a field
        const out: Record<string, unknown> = Object.create(null)
        for (const key of Object.keys(record).sort()) {
          if (record[key] !== undefined) out[key] = normalize(record[key], ancestors)
        }
        return out
      } finally {
        ancestors.delete(value)
      }
    }
    default:
      return value
  }
}

/** @internal */
export const keyOf = (chain: string, request: unknown): string => JSON.stringify([chain, normalize(request, new Set())])

/*
 * The same identity without building the string: `hashOf` and `equivalent`
 * agree with `keyOf` (two requests are equivalent exactly when their keys are
 * equal, and equivalent requests hash alike), but walk the request in place:
 * no sorting, no copies, no JSON. A hash is a first-level key only; a hit is
 * confirmed by `equivalent`, so two requests that happen to hash alike are
 * never taken for one another.
 *
 * To agree with `keyOf`, every value is compared in the form `keyOf` gives it:
 * bigints, bytes, functions and cycles are the strings `normalize` spells them
 * as; numbers JSON cannot write (NaN, ±Infinity), `undefined` and symbols in an
 * array are `null`; `undefined` and symbol fields of an object are absent;
 * other objects are their own enumerable fields. Strings longer than
 * `fullStringHash` are hashed from their length and a fixed sample of their
 * characters, so a long prompt costs the same as a short one; equality still
 * compares them whole.
 */

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

/** Strings up to this many characters are hashed whole; longer ones by a sample of as many. */
const fullStringHash = 256

const base64Length = (bytes: Uint8Array): number => Math.ceil(bytes.length / 3) * 4

/** The character at `at` of the bytes' base64 form, without encoding them. */
const base64CodeAt = (bytes: Uint8Array, at: number): number => {
  const i = (at >> 2) * 3
  const b0 = bytes[i]!
  const b1 = i + 1 < bytes.length ? bytes[i + 1]! : -1
  const b2 = i + 2 < bytes.length ? bytes[i + 2]! : -1
  switch (at & 3) {
    case 0:
      return BASE64.charCodeAt(b0 >> 2)
    case 1:
      return BASE64.charCodeAt(((b0 & 3) << 4) | (b1 < 0 ? 0 : b1 >> 4))
    case 2:
      return b1 < 0 ? 61 : BASE64.charCodeAt(((b1 & 15) << 2) | (b2 < 0 ? 0 : b2 >> 6))
    default:
      return b2 < 0 ? 61 : BASE64.charCodeAt(b2 & 63)
  }
}

const mix = (h: number, x: number): number => Math.imul(h ^ x, 0x01000193)

const seedString = 0x811c9dc5
const seedNumber = 0x2545f491
const seedNull = 0x6b43a9b5
const seedTrue = 0x1b873593
const seedFalse = 0x7feb352d
const seedArray = 0x27d4eb2f
const seedObject = 0x165667b1

/** Bytes hashed as the string of their base64 form, read one character at a time without building it. */
const hashChars = (length: number, codeAt: (at: number) => number): number => {
  let h = mix(seedString, length)
  if (length <= fullStringHash) {
    for (let i = 0; i < length; i++) h = mix(h, codeAt(i))
  } else {
    // the ends and evenly spaced characters between them, positions fixed by the length
    const step = (length - 1) / (fullStringHash - 1)
    for (let i = 0; i < fullStringHash; i++) h = mix(h, codeAt(Math.round(i * step)))
  }
  return h
}

/** The same hash for a string, written out rather than through a callback: this is the hot path of the hash. */
const hashString = (s: string): number => {
  const length = s.length
  let h = mix(seedString, length)
  if (length <= fullStringHash) {
    for (let i = 0; i < length; i++) h = mix(h, s.charCodeAt(i))
  } else {
    const step = (length - 1) / (fullStringHash - 1)
    for (let i = 0; i < fullStringHash; i++) h = mix(h, s.charCodeAt(Math.round(i * step)))
  }
  return h
}

/** Equal numbers as `keyOf` writes them (NaN and ±Infinity are JSON's null, -0 is 0) hash alike. */
const hashNumber = (n: number): number =>
  !Number.isFinite(n) ? seedNull : n === (n | 0) ? mix(seedNumber, n | 0) : mix(seedNumber, hashString(String(n)))

const hashValue = (value: unknown, ancestors: Array<object>): number => {
  switch (typeof value) {
    case "string":
      return hashString(value)
    case "number":
      return hashNumber(value)
    case "boolean":
      return value ? seedTrue : seedFalse
    case "bigint":
      return hashString(value.toString())
    case "function":
      return hashString(functionMark(value))
    case "object": {
      if (value === null) return seedNull
      if (value instanceof Uint8Array) return hashChars(base64Length(value), (at) => base64CodeAt(value, at))
      if (ancestors.includes(value)) return hashString(cycleMark)
      ancestors.push(value)
      try {
        if (Array.isArray(value)) {
          let h = mix(seedArray, value.length)
          for (let i = 0; i < value.length; i++) {
            const item: unknown = value[i]
            // JSON writes an undefined, a symbol or a hole in an array as null
            h = mix(h, item === undefined || typeof item === "symbol" ? seedNull : hashValue(item, ancestors))
          }
          return h
        }
        // fields in any order: a sum of each field's hash needs no sorting
        const record = value as Record<string, unknown>
        let sum = 0
        let count = 0
        for (const key of Object.keys(record)) {
          const field = record[key]
          if (field === undefined || typeof field === "symbol") continue
          sum = (sum + mix(hashString(key), hashValue(field, ancestors))) | 0
          count++
        }
        return mix(mix(seedObject, count), sum)
      } finally {
        ancestors.pop()
      }
    }
    default:
      // undefined and symbols at the top: JSON writes null
      return seedNull
  }
}

/** @internal A small integer (30 bits): V8 keeps it unboxed, which keeps the map of hashes fast. */
export const hashOf = (chain: string, request: unknown): number => mix(hashString(chain), hashValue(request, [])) & 0x3fffffff

/** A leaf as `keyOf` spells it, or `undefined` for a container (an array or a plain record) to walk. */
const leafOf = (value: unknown, ancestors: Set<object>): unknown => {
  switch (typeof value) {
    case "bigint":
      return value.toString()
    case "function":
      return functionMark(value)
    case "number":
      return Number.isFinite(value) ? (value === 0 ? 0 : value) : null
    case "symbol":
    case "undefined":
      return null
    case "object":
      if (value === null) return null
      if (value instanceof Uint8Array) return value
      if (ancestors.has(value)) return cycleMark
      return undefined
    default:
      return value
  }
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))

const toBase64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64")

const sameLeaf = (a: unknown, b: unknown): boolean => {
  if (a instanceof Uint8Array) return b instanceof Uint8Array ? sameBytes(a, b) : typeof b === "string" && toBase64(a) === b
  if (b instanceof Uint8Array) return typeof a === "string" && toBase64(b) === a
  return a === b
}

/** A field `keyOf` keeps (it drops undefined fields, and JSON drops symbol ones). */
const kept = (field: unknown): boolean => field !== undefined && typeof field !== "symbol"

/** Whether both walks have the same objects open: then one object has one form on both sides. */
const sameAncestors = (left: Set<object>, right: Set<object>): boolean => {
  if (left.size !== right.size) return false
  for (const open of left) if (!right.has(open)) return false
  return true
}

const same = (a: unknown, b: unknown, left: Set<object>, right: Set<object>): boolean => {
  // one value on both sides has one form, unless it is an object whose cycles each side marks differently
  if (a === b && (typeof a !== "object" || a === null || sameAncestors(left, right))) return true
  const leafA = leafOf(a, left)
  const leafB = leafOf(b, right)
  if (leafA !== undefined || leafB !== undefined) return leafA !== undefined && leafB !== undefined && sameLeaf(leafA, leafB)
  const objectA = a as object
  const objectB = b as object
  if (Array.isArray(objectA) !== Array.isArray(objectB)) return false
  left.add(objectA)
  right.add(objectB)
  try {
    if (Array.isArray(objectA)) {
      const arrayB = objectB as ReadonlyArray<unknown>
      if (objectA.length !== arrayB.length) return false
      for (let i = 0; i < objectA.length; i++) {
        if (!same(objectA[i], arrayB[i], left, right)) return false
      }
      return true
    }
    const recordA = objectA as Record<string, unknown>
    const recordB = objectB as Record<string, unknown>
    let fieldsA = 0
    for (const key of Object.keys(recordA)) {
      const field = recordA[key]
      if (!kept(field)) continue
      fieldsA++
      if (!Object.prototype.propertyIsEnumerable.call(recordB, key) || !kept(recordB[key])) return false
      if (!same(field, recordB[key], left, right)) return false
    }
    let fieldsB = 0
    for (const key of Object.keys(recordB)) if (kept(recordB[key])) fieldsB++
    return fieldsA === fieldsB
  } finally {
    left.delete(objectA)
    right.delete(objectB)
  }
}

/** @internal */
export const equivalent = (chainA: string, requestA: unknown, chainB: string, requestB: unknown): boolean =>
  chainA === chainB && same(requestA, requestB, new Set(), new Set())

/**
 * A copy of a request that `equivalent` takes for the request itself, kept
 * with a result for its TTL so that a caller changing its request object
 * afterwards does not change what the result is kept for. Records become
 * plain records of their kept fields, bytes are copied, cycles become the
 * mark `keyOf` writes for them; functions and other leaves stay as they are.
 *
 * @internal
 */
export const snapshot = (value: unknown, ancestors: Set<object> = new Set()): unknown => {
  if (typeof value !== "object" || value === null) return value
  if (value instanceof Uint8Array) return value.slice()
  if (ancestors.has(value)) return cycleMark
  ancestors.add(value)
  try {
    if (Array.isArray(value)) return Array.from(value, (item: unknown) => snapshot(item, ancestors))
    const record = value as Record<string, unknown>
    const out: Record<string, unknown> = Object.create(null)
    for (const key of Object.keys(record)) {
      const field = record[key]
      if (field !== undefined && typeof field !== "symbol") out[key] = snapshot(field, ancestors)
    }
    return out
  } finally {
    ancestors.delete(value)
  }
}
