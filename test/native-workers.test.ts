// worker_threads on the native supervisor: each worker gets its own pump; two load the
// addon at once; a terminated worker's children are cancelled and nothing of theirs
// (process or fd) is left in the host.
import { Worker } from "node:worker_threads"
import { describe, expect, it } from "vitest"
import { supervise } from "../lib/index"
import { alive, fdCount, fixture, killAll, leakCheck, markedEnv, sleep, waitFor, within } from "./helpers"
import { ROOT } from "./native-helpers"

leakCheck()

// Supervises producer.js for `bytes`; posts {pid}, {streaming} after 1 MB (then pauses
// the stream for good when `pause` is set), and {n, outcome} at the end.
const workerCode = `
  const { parentPort, workerData } = require("node:worker_threads")
  const { supervise } = require(workerData.root)
  const c = supervise([process.execPath, workerData.producer, String(workerData.bytes)], { stdout: "pipe" })
  parentPort.postMessage({ pid: c.pid })
  let n = 0
  let reported = false
  c.stdout.on("data", (b) => {
    n += b.length
    if (!reported && n >= 1 << 20) {
      reported = true
      if (workerData.pause) c.stdout.pause()
      parentPort.postMessage({ streaming: n })
    }
  })
  c.outcome.then((o) => parentPort.postMessage({ n, outcome: o }))
`

function startWorker(bytes: number, pause = false): { w: Worker; messages: Record<string, unknown>[]; exit: Promise<number> } {
  const w = new Worker(workerCode, { eval: true, workerData: { root: ROOT, producer: fixture("producer.js"), bytes, pause }, env: { ...process.env, ...markedEnv() } })
  const messages: Record<string, unknown>[] = []
  w.on("message", (m) => messages.push(m))
  const exit = new Promise<number>((resolve, reject) => {
    w.on("exit", resolve)
    w.on("error", reject)
  })
  return { w, messages, exit }
}

describe("worker_threads", () => {
  it("two workers load the addon at once; each spawns, streams and sees the exit, then ends by itself", async () => {
    const total = 4 << 20
    const ws = [startWorker(total), startWorker(total)]
    const codes = await within(Promise.all(ws.map((w) => w.exit)), 30_000, "workers exit by themselves")
    expect(codes).toEqual([0, 0])
    const pids = new Set<number>()
    for (const { messages } of ws) {
      const pid = messages.find((m) => "pid" in m)?.pid as number
      pids.add(pid)
      const done = messages.find((m) => "outcome" in m) as { n: number; outcome: { code: number; reason: string; stdoutBytes: number } }
      expect(done.n).toBe(total)
      expect(done.outcome).toMatchObject({ code: 0, reason: "exit", stdoutBytes: total })
    }
    expect(pids.size).toBe(2)
  })

  it("a worker terminated mid-stream does not crash the host, and its children are cancelled", async () => {
    const fds = fdCount()
    const { w, messages, exit } = startWorker(2 ** 40)
    await within(waitFor(() => messages.some((m) => "streaming" in m), 20_000, "streaming"), 25_000, "streaming")
    const pid = messages.find((m) => "pid" in m)!.pid as number
    expect(alive(pid)).toBe(true)
    try {
      await within(w.terminate(), 10_000, "terminate")
      expect(await exit).toBe(1)
      await waitFor(() => !alive(pid), 5000, "the worker's child gone")
      await waitFor(() => fdCount() <= fds, 5000, `host fds back to ${fds} (now ${fdCount()})`)
    } finally {
      killAll([pid])
    }
    // The host's own supervisor is unaffected.
    const o = await within(supervise(["sh", "-c", "exit 7"], { env: markedEnv() }).outcome, 10_000, "host spawn after")
    expect(o.code).toBe(7)
  })

  it("a worker terminated while its child's output is paused ends the child and closes its pipe in the host", async () => {
    const fds = fdCount()
    const { w, messages, exit } = startWorker(2 ** 40, true)
    await within(waitFor(() => messages.some((m) => "streaming" in m), 20_000, "streaming"), 25_000, "streaming")
    const pid = messages.find((m) => "pid" in m)!.pid as number
    // Let backpressure reach the core: the reader is now paused, the producer blocked.
    await sleep(300)
    try {
      await within(w.terminate(), 10_000, "terminate")
      expect(await exit).toBe(1)
      await waitFor(() => !alive(pid), 5000, "the worker's child gone")
      // The child's stdout pipe is the core's to close when the environment goes away.
      await waitFor(() => fdCount() <= fds, 5000, `host fds back to ${fds} (now ${fdCount()})`)
    } finally {
      killAll([pid])
    }
  })
})
