// Issue 4, "every byte, bounded time", output half, on the real addon: ordering with a
// slow consumer (1), cancel mid-stream (2), backpressure and host memory (5), merged
// output (7). Bounds here are generous hang detectors; the numbers are in
// scripts/bench-drain.js.
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { native } from "../lib/native"
import { supervise } from "../lib/index"
import { alive, fixture, leakCheck, markedEnv, sleep, waitFor, within } from "./helpers"
import { patternMismatch, wchar } from "./native-helpers"

leakCheck()

const env = markedEnv()
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pws-guarantees-"))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

/** The first byte of buf that is not numbered-writer.js's record stream at offset 0, or -1. */
function recordMismatch(buf: Buffer): number {
  const RECORD = 16
  for (let k = 0; k * RECORD < buf.length; k++) {
    const base = k * RECORD
    let n = k
    for (let j = RECORD - 2; j >= 0; j--) {
      if (base + j < buf.length && buf[base + j] !== 48 + (n % 10)) return base + j
      n = Math.floor(n / 10)
    }
    if (base + RECORD - 1 < buf.length && buf[base + RECORD - 1] !== 10) return base + RECORD - 1
  }
  return -1
}

describe("1. ordering: every byte before 'exit', exited and outcome; then 'close'", () => {
  it("256 MB from a fast producer reach a deliberately slow consumer whole and in order", async () => {
    const total = 256 << 20
    const c = supervise([process.execPath, fixture("producer.js"), String(total)], { stdout: "pipe", env })
    const order: string[] = []
    let received = 0
    let mismatch = -1
    let pauses = 0
    c.stdout!.on("data", (b: Buffer) => {
      // The checksum is positional: any lost, repeated or reordered byte is caught.
      if (mismatch < 0) mismatch = patternMismatch(b, received)
      const before = received
      received += b.length
      // Slow: stop for a while after every 16 MB.
      if (Math.floor(before / (16 << 20)) !== Math.floor(received / (16 << 20))) {
        pauses++
        c.stdout!.pause()
        setTimeout(() => c.stdout!.resume(), 25)
      }
    })
    const inStream = () => received + c.stdout!.readableLength
    c.stdout!.on("end", () => order.push(`end ${received}`))
    c.on("exit", () => order.push(`exit ${inStream()}`))
    c.on("close", () => order.push(`close ${received}`))
    void c.exited.then(() => order.push(`exited ${inStream()}`))
    void c.outcome.then(() => order.push(`outcome ${inStream()}`))
    const o = await within(c.outcome, 120_000, "outcome")
    await within(new Promise((r) => (c.exitCode !== null && order.some((e) => e.startsWith("close")) ? r(null) : c.once("close", r))), 10_000, "'close'")
    expect(mismatch).toBe(-1)
    expect(received).toBe(total)
    expect(pauses).toBeGreaterThan(10)
    expect(o).toMatchObject({ code: 0, reason: "exit", truncated: false, stdoutBytes: total })
    // Whatever the consumer had read by then, every byte was in the stream.
    for (const e of order.filter((e) => /^(exit|exited|outcome) /.test(e))) expect(e).toMatch(new RegExp(` ${total}$`))
    expect(order.indexOf(order.find((e) => e.startsWith("exit "))!)).toBeLessThan(order.indexOf(order.find((e) => e.startsWith("close"))!))
    expect(order.find((e) => e.startsWith("close"))).toBe(`close ${total}`)
  }, 150_000)
})

describe("2. cancel mid-stream: received bytes are exactly the bytes written", () => {
  const runs = 10
  it(`supervise().cancel() at ${runs} random moments, with fast and slow consumers`, async () => {
    const lost: string[] = []
    for (let i = 0; i < runs; i++) {
      const progress = path.join(tmp, `cancel-${i}`)
      const c = supervise([process.execPath, fixture("numbered-writer.js"), progress], { stdout: "pipe", graceMs: 10_000, env })
      const chunks: Buffer[] = []
      const slow = i % 2 === 1
      c.stdout!.on("data", (b: Buffer) => {
        chunks.push(b)
        if (slow && chunks.length % 4 === 0) {
          c.stdout!.pause()
          setTimeout(() => c.stdout!.resume(), 5)
        }
      })
      await within(new Promise((r) => c.stdout!.once("data", r)), 10_000, "first chunk")
      await sleep(Math.floor(Math.random() * 150))
      const o = await within(c.cancel(), 20_000, "cancel")
      await within(new Promise((r) => (c.stdout!.readableEnded ? r(null) : c.stdout!.once("end", r))), 10_000, "end")
      const got = Buffer.concat(chunks)
      const written = Number(fs.readFileSync(progress, "utf8"))
      expect(o.reason).toBe("stop")
      expect(written).toBeGreaterThan(0)
      // A single process holds nothing open after it: no bound may fire.
      expect(o.truncated).toBe(false)
      if (got.length !== written) lost.push(`run ${i}: received ${got.length} of ${written}`)
      expect(o.stdoutBytes).toBe(written)
      expect(recordMismatch(got)).toBe(-1)
    }
    expect(lost).toEqual([])
  }, 120_000)

  it("Process.run (native) aborted at a random moment returns exactly what was written", async () => {
    for (let i = 0; i < 4; i++) {
      const progress = path.join(tmp, `run-abort-${i}`)
      const ac = new AbortController()
      const run = native.run([process.execPath, fixture("numbered-writer.js"), progress], { abort: ac.signal, env })
      // Aborted once the writer handles SIGTERM (before, it would just die: nothing to count).
      await waitFor(() => fs.existsSync(progress + ".ready"), 10_000, "the writer's ready file")
      await sleep(Math.floor(Math.random() * 150))
      ac.abort()
      const r = await within(run, 20_000, "run")
      const written = Number(fs.readFileSync(progress, "utf8"))
      // The writer exits 0 on SIGTERM, so run resolves; what it captured is all there.
      expect(r.code).toBe(0)
      expect(written).toBeGreaterThan(0)
      expect(r.stdout.length).toBe(written)
      expect(recordMismatch(r.stdout)).toBe(-1)
    }
  }, 60_000)
})

describe("5. backpressure: a paused or slow reader blocks the writer, not host memory", () => {
  it("1 GB through a reader that pauses often and once for long: RSS grows < 100 MB, the writer blocks", async () => {
    const total = 1 << 30
    const rss0 = process.memoryUsage().rss
    let peak = rss0
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20)
    try {
      const c = supervise(["head", "-c", String(total), "/dev/zero"], { stdout: "pipe", env })
      let received = 0
      let longPause: Promise<[number | undefined, number | undefined]> | undefined
      c.stdout!.on("data", (b: Buffer) => {
        const before = received
        received += b.length
        if (Math.floor(before / (32 << 20)) === Math.floor(received / (32 << 20))) return
        c.stdout!.pause()
        if (!longPause && received >= 256 << 20) {
          // Once, far longer than it takes the writer to fill every queue: it must block.
          longPause = (async () => {
            await sleep(700)
            const w1 = wchar(c.pid!)
            await sleep(300)
            const w2 = wchar(c.pid!)
            c.stdout!.resume()
            return [w1, w2]
          })()
        } else setTimeout(() => c.stdout!.resume(), 10)
      })
      const o = await within(c.outcome, 120_000, "outcome")
      expect(received).toBe(total)
      expect(o).toMatchObject({ code: 0, truncated: false, stdoutBytes: total })
      const [w1, w2] = await longPause!
      expect(w1).toBeDefined()
      expect(w2).toBe(w1) // blocked on a full pipe
      expect(w1!).toBeLessThan(total)
    } finally {
      clearInterval(sampler)
    }
    const growth = peak - rss0
    expect(growth, `RSS growth ${(growth / 1e6).toFixed(1)} MB`).toBeLessThan(100 << 20)
  }, 150_000)
})

describe('7. merged output: stderr: "stdout" is one stream in the order the child wrote', () => {
  it("4000 alternating lines and 200 alternating 32 KiB blocks arrive interleaved exactly", async () => {
    const script = `
      const fs = require("node:fs")
      for (let i = 0; i < 2000; i++) { fs.writeSync(1, "out " + i + "\\n"); fs.writeSync(2, "err " + i + "\\n") }
      for (let i = 0; i < 100; i++) { fs.writeSync(1, Buffer.alloc(32768, 111)); fs.writeSync(2, Buffer.alloc(32768, 101)) }`
    const c = supervise([process.execPath, "-e", script], { stdout: "pipe", stderr: "stdout", env })
    expect(c.stderr).toBe(null)
    const chunks: Buffer[] = []
    c.stdout!.on("data", (b: Buffer) => chunks.push(b))
    const o = await within(c.outcome, 30_000, "outcome")
    let want = ""
    for (let i = 0; i < 2000; i++) want += `out ${i}\nerr ${i}\n`
    for (let i = 0; i < 100; i++) want += "o".repeat(32768) + "e".repeat(32768)
    const got = Buffer.concat(chunks).toString()
    expect(got.length).toBe(want.length)
    expect(got === want).toBe(true)
    expect(o).toMatchObject({ code: 0, stdoutBytes: want.length, stderrBytes: 0, truncated: false })
  })

  it("without a piped stdout the merge is refused synchronously", () => {
    expect(() => supervise(["true"], { stderr: "stdout", env })).toThrow(/stdout "pipe"/)
  })
})

describe("no leftovers from the writers", () => {
  it("every writer of this file is gone", async () => {
    // The leak check runs after the suite too; this names the writers in a failure.
    await sleep(50)
    const running = fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p)).map(Number).filter((p) => {
      try {
        return alive(p) && fs.readFileSync(`/proc/${p}/cmdline`, "utf8").includes("numbered-writer")
      } catch {
        return false
      }
    })
    expect(running).toEqual([])
  })
})
