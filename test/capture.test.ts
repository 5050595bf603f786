// collectCapped and Capture (lib/capture.ts): what run() keeps of a stream, byte for byte, on both of its
// paths — a list of chunks joined once (small outputs) and one growing reservation past
// 1 MiB — with and without a cap. Plus run() of a few MB through the native addon.
import { createHash, randomBytes } from "node:crypto"
import { PassThrough } from "node:stream"
import { describe, expect, it } from "vitest"
import { Capture, collectCapped } from "../lib/capture"
import { supervise } from "../lib/child"
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

// Pushes `data` into a transient Capture as views of one scratch buffer that is
// overwritten after each push, as the binding's transient output is.
function pushTransient(c: Capture, data: Buffer) {
  const scratch = new Uint8Array(300 * 1024)
  for (let off = 0; off < data.length; ) {
    const n = Math.min(data.length - off, 1 + Math.floor(Math.random() * scratch.length))
    scratch.set(data.subarray(off, off + n))
    c.push(scratch.subarray(0, n))
    scratch.fill(0xee) // what a next record would leave there
    off += n
  }
}

describe("Capture of transient views", () => {
  for (const total of [0, 1000, (1 << 20) + 1, 6_000_000]) {
    it(`keeps its own copy of all of ${total} bytes`, () => {
      const data = randomBytes(total)
      const c = new Capture(undefined, true)
      pushTransient(c, data)
      const got = c.take()
      expect(got.truncated).toBe(false)
      expect(got.buffer.equals(data)).toBe(true)
    })
  }

  for (const [total, cap] of [
    [5_000_000, 3_000_000],
    [500_000, 1000],
  ]) {
    it(`keeps the first ${cap} of ${total} bytes with a cap of ${cap}`, () => {
      const data = randomBytes(total)
      const c = new Capture(cap, true)
      pushTransient(c, data)
      const got = c.take()
      expect(got.truncated).toBe(true)
      expect(got.buffer.equals(data.subarray(0, cap))).toBe(true)
    })
  }
})

describe("run() through the addon", () => {
  it("concurrent run()s and a streaming child beside them each get their own bytes", async () => {
    // run()'s output reaches it as views of one buffer per environment (transientOutput),
    // shared by every run() in flight; a streamed child's chunks are Buffers of their own.
    const gen = (tag: string, n: number) => ["perl", "-e", `for $i (0..${n - 1}) { printf "${tag}%08d\n", $i }`]
    const want = (tag: string, n: number) => {
      const h = createHash("sha256")
      for (let i = 0; i < n; i++) h.update(tag + String(i).padStart(8, "0") + "\n")
      return h.digest("hex")
    }
    const streamed = supervise(gen("s", 300000), { stdout: "pipe", stderr: "ignore" })
    const kept: Buffer[] = []
    streamed.stdout!.on("data", (b: Buffer) => kept.push(b))
    const [a, b] = await Promise.all([run(gen("a", 300000)), run(gen("b", 200000)), streamed.outcome])
    expect(createHash("sha256").update(a.stdout).digest("hex")).toBe(want("a", 300000))
    expect(createHash("sha256").update(b.stdout).digest("hex")).toBe(want("b", 200000))
    expect(createHash("sha256").update(Buffer.concat(kept)).digest("hex")).toBe(want("s", 300000))
  })

  it("maxBuffer cuts run()'s transient capture and says so", async () => {
    const r = await run(["head", "-c", "3000000", "/dev/zero"], { maxBuffer: 1_500_000 })
    expect(r.stdout.length).toBe(1_500_000)
    expect(r.truncated).toBe(true)
  })

  it("keeps 8 MB of stdout byte for byte", async () => {
    // A pattern with no period near the chunk sizes: a lost, doubled or reordered chunk shows.
    const r = await run(["perl", "-e", 'for $i (0..799999) { printf "%09d\\n", $i }'])
    expect(r.stdout.length).toBe(8_000_000)
    const expected = createHash("sha256")
    for (let i = 0; i < 800000; i++) expected.update(String(i).padStart(9, "0") + "\n")
    expect(createHash("sha256").update(r.stdout).digest("hex")).toBe(expected.digest("hex"))
  })
})
