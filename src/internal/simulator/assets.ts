/**
 * Tiny but real binary outputs: PNG images and MP4 files.
 *
 * @internal
 */
import { deflateSync } from "node:zlib"
import { hash32, Rng } from "./prng.js"

const CRC_TABLE = (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

/** CRC-32 (PNG / zlib polynomial). @internal */
export const crc32 = (bytes: Uint8Array): number => {
  let c = 0xffffffff
  for (let i = 0; i < bytes.length; i++) c = (CRC_TABLE[(c ^ (bytes[i] ?? 0)) & 0xff] ?? 0) ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n >>> 0)
  return b
}

const chunk = (type: string, data: Uint8Array): Buffer => {
  const typed = Buffer.concat([Buffer.from(type, "latin1"), data])
  return Buffer.concat([u32(data.length), typed, u32(crc32(typed))])
}

/** The eight bytes every PNG starts with. @internal */
export const PNG_SIGNATURE = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

/**
 * An 8×8 RGB PNG whose colours derive from the key (a vertical gradient
 * between two colours).
 *
 * @internal
 */
export const png = (key: string, size = 8): Uint8Array => {
  const rng = new Rng(hash32("png", key))
  const a = [rng.nextU32() & 0xff, rng.nextU32() & 0xff, rng.nextU32() & 0xff]
  const b = [rng.nextU32() & 0xff, rng.nextU32() & 0xff, rng.nextU32() & 0xff]
  const raw = Buffer.alloc(size * (1 + size * 3))
  for (let y = 0; y < size; y++) {
    const row = y * (1 + size * 3)
    raw[row] = 0 // filter: none
    for (let x = 0; x < size; x++) {
      for (let c = 0; c < 3; c++) {
        const from = a[c] ?? 0
        const to = b[c] ?? 0
        raw[row + 1 + x * 3 + c] = Math.round(from + ((to - from) * y) / Math.max(1, size - 1))
      }
    }
  }
  const ihdr = Buffer.concat([u32(size), u32(size), Buffer.from([8, 2, 0, 0, 0])])
  return new Uint8Array(Buffer.concat([
    Buffer.from(PNG_SIGNATURE),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", new Uint8Array(0))
  ]))
}

const box = (type: string, data: Uint8Array): Buffer =>
  Buffer.concat([u32(8 + data.length), Buffer.from(type, "latin1"), data])

/**
 * A few bytes of MP4: an `ftyp` box, a `free` box and an `mdat` box with
 * bytes derived from the key.
 *
 * @internal
 */
export const mp4 = (key: string): Uint8Array => {
  const rng = new Rng(hash32("mp4", key))
  const payload = Buffer.alloc(32)
  for (let i = 0; i < payload.length; i++) payload[i] = rng.nextU32() & 0xff
  return new Uint8Array(Buffer.concat([
    box("ftyp", Buffer.concat([Buffer.from("isom", "latin1"), u32(0x200), Buffer.from("isomiso2avc1mp41", "latin1")])),
    box("free", new Uint8Array(0)),
    box("mdat", payload)
  ]))
}

/** Standard base64 of bytes. @internal */
export const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64")
