// Output on the native supervisor: exit only after the drain (the baseline's gap), the
// drain bounds when something holds the pipe after the leader exited, and backpressure.
import { Writable } from "node:stream"
import { describe, expect, it } from "vitest"
import { native } from "../lib/native"
import { supervise } from "../lib/index"
import { alive, fixture, killAll, leakCheck, markedEnv, sleep, within } from "./helpers"
import { capture, patternMismatch, pidsOf, wchar } from "./native-helpers"

/** Slack on top of a bound for a loaded 2-core machine: a hang detector, not a measure. */
const SLACK_MS = 5000

leakCheck()

const env = markedEnv()
const producer = (bytes: number) => [process.execPath, fixture("producer.js"), String(bytes)]

describe("exit after drain", () => {
  it("'exit' and exited come after every byte of 8 MB reached a flowing consumer, in order", async () => {
    const total = 8 << 20
    const c = supervise(producer(total), { stdout: "pipe", env })
    const out = capture(c.stdout)
    let atExit = -1
    c.on("exit", () => (atExit = out.bytes()))
    expect(await within(c.exited, 30_000, "exited")).toBe(0)
    const atExited = out.bytes()
    expect(atExit).toBe(total)
    expect(atExited).toBe(total)
    expect(patternMismatch(out.buffer())).toBe(-1)
    expect((await c.outcome).stdoutBytes).toBe(total)
  })

  it("Process.run (native) returns the whole 8 MB output", async () => {
    const total = 8 << 20
    const r = await within(native.run(producer(total), { env }), 30_000, "run")
    expect(r.code).toBe(0)
    expect(r.stdout.length).toBe(total)
    expect(patternMismatch(r.stdout)).toBe(-1)
    expect(r.stderr.length).toBe(0)
  })

  it("with a piped consumer paused by backpressure, every byte is in the stream by 'exit' and reaches the destination", async () => {
    // pipe() pauses the source while the destination is busy: the child writes "a",
    // then "b" 100 ms later, and exits, while the destination spends 1.5 s on "a". Like
    // child_process, 'exit' does not wait for a paused consumer, but nothing may be
    // missing from the stream then: consumed or buffered, every byte is there.
    const c = supervise(["sh", "-c", "printf a; sleep 0.1; printf b"], { stdout: "pipe", env })
    let got = ""
    const sink = new Writable({
      highWaterMark: 1,
      write: (chunk: Buffer, _enc, cb) => {
        const first = got === ""
        got += chunk.toString()
        setTimeout(cb, first ? 1500 : 0)
      },
    })
    const finished = new Promise((r) => sink.on("finish", r))
    c.stdout!.pipe(sink)
    let atExit = -1
    c.on("exit", () => (atExit = got.length + c.stdout!.readableLength))
    await within(c.exited, 10_000, "exited")
    expect(atExit).toBe(2)
    await within(finished, 10_000, "sink")
    expect(got).toBe("ab")
  })

  it("Process.spawn (native): exited resolves only after the stream ended with every byte", async () => {
    const total = 8 << 20
    const c = native.spawn(producer(total), { stdout: "pipe", env })
    const out = capture(c.stdout)
    let ended = false
    c.stdout!.on("end", () => (ended = true))
    expect(await within(c.exited, 30_000, "exited")).toBe(0)
    expect(ended).toBe(true)
    expect(out.bytes()).toBe(total)
  })
})

describe("a consumer that stops reading", () => {
  it("destroying stdout keeps the pipe drained: the child is not blocked and still exits", async () => {
    const total = 8 << 20
    const c = supervise(producer(total), { stdout: "pipe", env })
    c.stdout!.once("data", () => c.stdout!.destroy())
    const o = await within(c.outcome, 30_000, "outcome")
    expect(o).toMatchObject({ code: 0, reason: "exit", truncated: false, stdoutBytes: total })
  })
})

describe("natural exit with something still holding the pipe", () => {
  it("by default: the outcome comes after drainIdleMs, truncated, the holder listed, let go and still running", async () => {
    const c = supervise([fixture("background-holder.sh")], { stdout: "pipe", drainIdleMs: 300, env })
    const out = capture(c.stdout)
    const o = await within(c.outcome, 10_000, "outcome")
    const [holder] = pidsOf(out.text(), "holder")
    try {
      expect(holder).toBeGreaterThan(0)
      expect(out.text()).toContain("done\n")
      expect(o).toMatchObject({ code: 0, signal: null, reason: "exit", truncated: true })
      expect(o.leftovers).toContain(holder)
      expect(o.errors.join("\n")).toMatch(/drainIdleMs/)
      expect(o.durationMs).toBeLessThan(5000)
      expect(alive(holder)).toBe(true)
      // Let go means no longer owned: a later cancel does not touch it.
      expect(await c.cancel()).toBe(o)
      await sleep(100)
      expect(alive(holder)).toBe(true)
    } finally {
      killAll([holder])
    }
  })

  it("killTreeOnExit: the holder is killed, nothing is truncated, leftovers lists it", async () => {
    const c = supervise([fixture("background-holder.sh")], { stdout: "pipe", killTreeOnExit: true, graceMs: 2000, drainIdleMs: 300, env })
    const out = capture(c.stdout)
    const o = await within(c.outcome, 10_000, "outcome")
    const [holder] = pidsOf(out.text(), "holder")
    try {
      expect(holder).toBeGreaterThan(0)
      expect(o).toMatchObject({ code: 0, reason: "exit", truncated: false, errors: [] })
      expect(o.leftovers).toContain(holder)
      // Confirmed gone before the outcome, not eventually.
      expect(alive(holder)).toBe(false)
      expect(out.text()).toContain("done\n")
    } finally {
      killAll([holder])
    }
  })

  it("killTreeOnExit applies the ladder: a TERM-ignoring leftover gets SIGKILL after the grace", async () => {
    const script = `sh -c 'trap "" TERM; echo "pid holder $$"; exec sleep 100' & sleep 0.2`
    const c = supervise(["sh", "-c", script], { stdout: "pipe", killTreeOnExit: true, graceMs: 300, env })
    const out = capture(c.stdout)
    const o = await within(c.outcome, 10_000, "outcome")
    const [holder] = pidsOf(out.text(), "holder")
    try {
      expect(holder).toBeGreaterThan(0)
      expect(o).toMatchObject({ code: 0, reason: "exit", truncated: false, errors: [] })
      expect(o.leftovers).toEqual([holder])
      expect(o.phases.graceMs).toBeGreaterThanOrEqual(290)
      expect(o.phases.killMs).toBeGreaterThan(0)
      expect(alive(holder)).toBe(false)
    } finally {
      killAll([holder])
    }
  })

  it("drainMaxMs caps the drain while a holder keeps writing (the idle bound never fires)", async () => {
    const c = supervise([fixture("background-writer.sh")], { stdout: "pipe", drainIdleMs: 300, drainMaxMs: 1000, env })
    const out = capture(c.stdout)
    const o = await within(c.outcome, 10_000, "outcome")
    const [writer] = pidsOf(out.text(), "writer")
    try {
      expect(writer).toBeGreaterThan(0)
      expect(o).toMatchObject({ code: 0, reason: "exit", truncated: true })
      expect(o.leftovers).toContain(writer)
      expect(o.errors.join("\n")).toMatch(/drainMaxMs/)
      expect(o.errors.join("\n")).not.toMatch(/drainIdleMs/)
      // The writer's ticks after the leader's exit were delivered until the cap.
      expect(out.text().match(/^tick$/gm)?.length ?? 0).toBeGreaterThan(5)
      expect(o.phases.drainMs).toBeGreaterThanOrEqual(990)
      // Well under the 10 s default cap: the option was applied.
      expect(o.durationMs).toBeLessThan(8000)
    } finally {
      killAll([writer])
    }
  })
})

describe("backpressure", () => {
  it("a paused consumer blocks a 64 MB producer with bounded host memory; after resume all of it arrives", async () => {
    const total = 64 << 20
    const c = supervise(producer(total), { stdout: "pipe", env })
    let received = 0
    let mismatch = -1
    c.stdout!.on("data", (b: Buffer) => {
      if (mismatch < 0) mismatch = patternMismatch(b, received)
      received += b.length
      if (received === b.length) c.stdout!.pause()
    })
    await within(new Promise<void>((r) => c.stdout!.once("data", () => r())), 10_000, "first chunk")
    expect(c.stdout!.isPaused()).toBe(true)
    const rss0 = process.memoryUsage().rss
    await sleep(1000)
    const w1 = wchar(c.pid!)
    await sleep(500)
    const w2 = wchar(c.pid!)
    const growth = process.memoryUsage().rss - rss0
    // The producer is blocked on a full pipe, far from done, and still alive.
    expect(w1).toBeDefined()
    expect(w2).toBe(w1)
    expect(w1!).toBeLessThan(total / 4)
    expect(alive(c.pid!)).toBe(true)
    expect(growth).toBeLessThan(32 << 20)
    c.stdout!.resume()
    const o = await within(c.outcome, 60_000, "outcome")
    expect(received).toBe(total)
    expect(mismatch).toBe(-1)
    expect(o).toMatchObject({ code: 0, reason: "exit", truncated: false, stdoutBytes: total })
  })

  it("a paused consumer does not hold the drain: a leftover writing into it is cut by the bounds, what was taken stays in the stream", async () => {
    // The leader exits at once; a leftover writes 16 MB into the pipe it inherited while
    // the consumer stays paused for longer than drainMaxMs. A bound never waits on the
    // consumer (issue 10): the outcome settles while the stream is still paused, and
    // every byte it counts is in the stream once the consumer reads again.
    const total = 16 << 20
    const c = supervise(["sh", "-c", `head -c ${total} /dev/zero & exit 0`], { stdout: "pipe", drainIdleMs: 300, drainMaxMs: 1000, env })
    let received = 0
    c.stdout!.on("data", (b: Buffer) => {
      received += b.length
      if (received === b.length) c.stdout!.pause()
    })
    await within(new Promise<void>((r) => c.stdout!.once("data", () => r())), 10_000, "first chunk")
    const o = await within(c.outcome, 1000 + 300 + SLACK_MS, "outcome while paused")
    expect(c.stdout!.isPaused()).toBe(true)
    expect(o).toMatchObject({ code: 0, reason: "exit", truncated: true })
    expect(o.errors.join("\n")).toMatch(/drain(Idle|Max)Ms bound fired/)
    expect(o.stdoutBytes).toBeLessThan(total)
    const ended = new Promise<void>((r) => c.stdout!.once("end", () => r()))
    c.stdout!.resume()
    await within(ended, 10_000, "end after resume")
    expect(received).toBe(o.stdoutBytes)
    killAll(o.leftovers)
  })

  it("nobody reads stdout and a timeout kills the writer: the outcome settles and the stream ends", async () => {
    // Issue 10, defect 1: the stream is never consumed, so it pauses at its high-water
    // mark and the writer blocks on a full pipe; the timeout kills it. Once the tree is
    // gone no byte can come: what the pipe held is taken and the outcome settles.
    const c = supervise(["head", "-c", "10000000", "/dev/zero"], { stdout: "pipe", timeoutMs: 500, graceMs: 100, env })
    const o = await within(c.outcome, 500 + 100 + SLACK_MS, "outcome with an unread stdout")
    expect(o).toMatchObject({ reason: "timeout", signal: "SIGTERM", truncated: false, errors: [] })
    let buffered = 0
    c.stdout!.on("data", (b: Buffer) => (buffered += b.length))
    await within(new Promise<void>((r) => c.stdout!.once("end", () => r())), 10_000, "end")
    expect(buffered).toBe(o.stdoutBytes)
  })
})
