// collectCapped (lib/capture.ts): what run() keeps of a stream, byte for byte, on both of its
// paths — a list of chunks joined once (small outputs) and one growing reservation past
// 1 MiB — with and without a cap. Plus run() of a few MB through the native addon.
import { createHash, randomBytes } from "node:crypto"
import { PassThrough } from "node:stream"
import { describe, expect, it } from "vitest"
import { collectCapped } from "../lib/capture"
import { run } from "../lib/native"

// Feeds `total` random bytes in chunks of random sizes (1 B … 300 KiB), then ends.
function feed(total: number, end: "end" | "destroy" = "end") {
  const s = new PassThrough()
  const data = randomBytes(total)
  let off = 0
  const step = () => {
    while (off < total) {
      const n = Math.min(total - off, 1 + Math.floor(Math.random() * 300 * 1024))
      const more = s.write(data.subarray(off, off + n))
      off += n
      if (!more) return void s.once("drain", step)
    }
    if (end === "end") s.end()
    else s.destroy()
  }
  setImmediate(step)
  return { s, data }
}

describe("collectCapped", () => {
  for (const total of [0, 1, 1000, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 5_000_001]) {
    it(`keeps all of ${total} bytes, in order`, async () => {
      const { s, data } = feed(total)
      const got = await collectCapped(s, undefined)
      expect(got.truncated).toBe(false)
      expect(got.buffer.length).toBe(total)
      expect(got.buffer.equals(data)).toBe(true)
    })
  }

  for (const [total, cap] of [
    [5_000_000, 3_000_000],
    [5_000_000, 1 << 20],
    [2_000_000, 0],
    [3_000_000, 3_000_000],
  ]) {
    it(`keeps the first ${cap} of ${total} bytes with maxBuffer ${cap}`, async () => {
      const { s, data } = feed(total)
      const got = await collectCapped(s, cap)
      expect(got.buffer.length).toBe(Math.min(cap, total))
      expect(got.truncated).toBe(total > cap)
      expect(got.buffer.equals(data.subarray(0, cap))).toBe(true)
    })
  }

  it("settles with what came when the stream closes without 'end'", async () => {
    const { s, data } = feed(3_000_000, "destroy")
    const got = await collectCapped(s, undefined)
    expect(got.buffer.equals(data)).toBe(true)
  })

  it("a result over the reservation is an ordinary Buffer to its users", async () => {
    const { s, data } = feed(2_000_000)
    const got = await collectCapped(s, undefined)
    expect(Buffer.isBuffer(got.buffer)).toBe(true)
    expect(Buffer.concat([got.buffer, Buffer.from("x")]).length).toBe(2_000_001)
    expect(got.buffer.toString("base64")).toBe(data.toString("base64"))
    expect(got.buffer.buffer.byteLength).toBe(2_000_000) // the reservation's tail was given back
  })
})

describe("run() through the addon", () => {
  it("keeps 8 MB of stdout byte for byte", async () => {
    // A pattern with no period near the chunk sizes: a lost, doubled or reordered chunk shows.
    const r = await run(["perl", "-e", 'for $i (0..799999) { printf "%09d\\n", $i }'])
    expect(r.stdout.length).toBe(8_000_000)
    const expected = createHash("sha256")
    for (let i = 0; i < 800000; i++) expected.update(String(i).padStart(9, "0") + "\n")
    expect(createHash("sha256").update(r.stdout).digest("hex")).toBe(expected.digest("hex"))
  })
})
