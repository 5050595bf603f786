// Issue 4, "every byte, bounded time", bounds half, on the real addon: a held pipe (3),
// the run-time timeout (4), stdin under cancellation (6), maxBuffer (8). Time bounds
// here are generous hang detectors (2 shared cores); the real overshoot is measured by
// scripts/bench-drain.js.
import { describe, expect, it } from "vitest"
import { legacy } from "../lib/legacy"
import { native } from "../lib/native"
import { supervise } from "../lib/index"
import { RunFailedError } from "../lib/capture"
import type { ProcessApi } from "../lib/types"
import { alive, fixture, killAll, leakCheck, markedEnv, sleep, waitFor, within } from "./helpers"
import { capture, pidsOf } from "./native-helpers"

const letGo: number[] = []
leakCheck(() => letGo)

const env = markedEnv()
/** Slack on top of a bound for a loaded 2-core machine: a hang detector, not a measure. */
const SLACK = 3000

describe("3. held pipe: bounded by drainIdleMs after the last chunk and drainMaxMs after the exit", () => {
  it("a holder that writes twice after the exit, then goes silent: both chunks kept, cut drainIdleMs after the last", async () => {
    const script = `(sleep 0.3; echo late; sleep 0.3; echo later; exec sleep 100) & echo "pid holder $!"; echo first`
    const c = supervise(["sh", "-c", script], { stdout: "pipe", drainIdleMs: 1000, drainMaxMs: 10_000, env })
    const out = capture(c.stdout)
    const o = await within(c.outcome, 20_000, "outcome")
    const [holder] = pidsOf(out.text(), "holder")
    letGo.push(holder)
    expect(out.text()).toMatch(/first\nlate\nlater\n$/)
    expect(o).toMatchObject({ code: 0, reason: "exit", truncated: true })
    expect(o.leftovers).toContain(holder)
    expect(o.errors.join("\n")).toMatch(/drainIdleMs/)
    // The idle bound is re-armed by each chunk: 0.6 s of chunks, then 1 s of silence.
    expect(o.phases.drainMs).toBeGreaterThanOrEqual(1500)
    expect(o.phases.drainMs).toBeLessThan(1600 + SLACK)
    expect(alive(holder)).toBe(true) // let go, not killed
  })

  it("a holder that never stops writing is cut at drainMaxMs", async () => {
    const c = supervise([fixture("background-writer.sh")], { stdout: "pipe", drainIdleMs: 500, drainMaxMs: 1500, env })
    const out = capture(c.stdout)
    const o = await within(c.outcome, 20_000, "outcome")
    letGo.push(...pidsOf(out.text(), "writer"))
    expect(o).toMatchObject({ code: 0, reason: "exit", truncated: true })
    expect(o.errors.join("\n")).toMatch(/drainMaxMs/)
    expect(o.phases.drainMs).toBeGreaterThanOrEqual(1490)
    expect(o.phases.drainMs).toBeLessThan(1500 + SLACK)
  })

  it("killTreeOnExit: a holder that keeps writing is killed and EOF comes naturally (not truncated)", async () => {
    const c = supervise([fixture("background-writer.sh")], { stdout: "pipe", killTreeOnExit: true, graceMs: 2000, drainIdleMs: 500, drainMaxMs: 1500, env })
    const out = capture(c.stdout)
    const o = await within(c.outcome, 20_000, "outcome")
    const [writer] = pidsOf(out.text(), "writer")
    letGo.push(writer)
    expect(o).toMatchObject({ code: 0, reason: "exit", truncated: false, errors: [] })
    expect(o.leftovers).toContain(writer)
    expect(alive(writer)).toBe(false)
  })

  it("Process.run (native) returns while `sleep 100 &` holds stdout (the stalled shell tool), output kept", async () => {
    const t0 = Date.now()
    const r = await within(native.run([fixture("background-holder.sh")], { env }), 20_000, "run")
    letGo.push(...pidsOf(r.stdout.toString(), "holder"))
    expect(r.code).toBe(0)
    expect(r.stdout.toString()).toContain("done\n")
    // The default drainIdleMs (1000) ends it, far from the holder's 100 s.
    expect(Date.now() - t0).toBeLessThan(1000 + SLACK)
  })
})

describe("4. run-time timeout: settles within timeout + grace + drain, reason 'timeout', output kept", () => {
  it("a leader that obeys SIGTERM", async () => {
    const c = supervise(["sh", "-c", "echo before; exec sleep 30"], { stdout: "pipe", timeoutMs: 300, graceMs: 1000, env })
    const out = capture(c.stdout)
    const o = await within(c.outcome, 20_000, "outcome")
    expect(o).toMatchObject({ reason: "timeout", signal: "SIGTERM", code: null, truncated: false })
    expect(out.text()).toBe("before\n")
    expect(o.durationMs).toBeGreaterThanOrEqual(295)
    expect(o.durationMs).toBeLessThan(300 + 1000 + 1000 + SLACK)
  })

  it("a tree that ignores SIGTERM and holds the pipe: SIGKILL after the grace, everything written is kept", async () => {
    const script = `trap "" TERM; echo before; sh -c 'trap "" TERM; echo child; sleep 30' & sleep 30; wait`
    const c = supervise(["sh", "-c", script], { stdout: "pipe", timeoutMs: 300, graceMs: 500, env })
    const out = capture(c.stdout)
    const o = await within(c.outcome, 20_000, "outcome")
    expect(o).toMatchObject({ reason: "timeout", signal: "SIGKILL", truncated: false })
    expect(out.text()).toContain("before\n")
    expect(out.text()).toContain("child\n")
    expect(o.phases.graceMs).toBeGreaterThanOrEqual(490)
    expect(o.durationMs).toBeLessThan(300 + 500 + 1000 + SLACK)
  })

  const impls: [string, ProcessApi][] = [
    ["native", native],
    ["legacy", legacy],
  ]
  describe.each(impls)("Process.run (%s) on abort keeps what was captured", (_name, P) => {
    it("without nothrow: RunFailedError (code 1, killed) carries the output", async () => {
      const ac = new AbortController()
      const run = P.run(["sh", "-c", "echo partial; echo oops >&2; exec sleep 30"], { abort: ac.signal, timeout: 1000, env })
      await sleep(300)
      ac.abort()
      const err = await within(run.catch((e) => e), 20_000, "run")
      expect(err).toBeInstanceOf(RunFailedError)
      expect(err.code).toBe(1)
      expect(err.stdout.toString()).toBe("partial\n")
      expect(err.stderr.toString()).toBe("oops\n")
    })

    it("with nothrow: the result carries the output", async () => {
      const ac = new AbortController()
      const run = P.run(["sh", "-c", "echo partial; exec sleep 30"], { abort: ac.signal, timeout: 1000, nothrow: true, env })
      await sleep(300)
      ac.abort()
      const r = await within(run, 20_000, "run")
      expect(r.code).toBe(1)
      expect(r.stdout.toString()).toBe("partial\n")
    })
  })
})

function write(w: NodeJS.WritableStream, data: string | Buffer): Promise<NodeJS.ErrnoException | null | undefined> {
  return new Promise((resolve) => w.write(data, (err) => resolve(err as NodeJS.ErrnoException | null | undefined)))
}

describe("6. stdin under cancellation and exit", () => {
  it("a 64 MB write in flight when the child exits by itself without reading: EPIPE in the callback, no 'error' crash", async () => {
    const c = supervise(["sh", "-c", "sleep 0.3"], { stdin: "pipe", env })
    const settled = write(c.stdin!, Buffer.alloc(64 << 20, 1))
    const o = await within(c.outcome, 20_000, "outcome")
    expect(o).toMatchObject({ code: 0, reason: "exit" })
    const err = await within(settled, 10_000, "write callback")
    expect(err?.code).toBe("EPIPE")
    await sleep(100) // a stray 'error' or rejection would fail the suite here
  })

  it("Process.spawn (native): a write in flight when aborted settles, the host does not crash", async () => {
    const ac = new AbortController()
    const c = native.spawn(["sleep", "30"], { stdin: "pipe", abort: ac.signal, timeout: 500, env })
    const settled = write(c.stdin!, Buffer.alloc(64 << 20, 1))
    await sleep(200)
    ac.abort()
    expect(await within(c.exited, 20_000, "exited")).toBe(1)
    const err = await within(settled, 10_000, "write callback")
    expect(err?.code).toBe("EPIPE")
    await sleep(100)
  })

  it("a large write to a child that reads it all, then end(): completes, and the child sees EOF", async () => {
    const c = supervise(["wc", "-c"], { stdin: "pipe", stdout: "pipe", env })
    const out = capture(c.stdout)
    const err = write(c.stdin!, Buffer.alloc(8 << 20, 1))
    c.stdin!.end()
    expect(await within(err, 20_000, "write callback")).toBeFalsy()
    const o = await within(c.outcome, 20_000, "outcome")
    expect(o.code).toBe(0)
    expect(out.text().trim()).toBe(String(8 << 20))
  })
})

describe.each([
  ["native", native],
  ["legacy", legacy],
] as [string, ProcessApi][])("8. maxBuffer for run/text (%s)", (_name, P) => {
  it("cuts each stream at the cap, keeps the prefix, says truncated; the child is not blocked", async () => {
    const script = `head -c 3000000 /dev/zero | tr '\\0' o; head -c 5000 /dev/zero | tr '\\0' e >&2`
    const r = await within(P.run(["sh", "-c", script], { maxBuffer: 1000, env }), 20_000, "run")
    expect(r.code).toBe(0)
    expect(r.stdout.toString()).toBe("o".repeat(1000))
    expect(r.stderr.toString()).toBe("e".repeat(1000))
    expect(r.truncated).toBe(true)
  })

  it("under the cap nothing is cut and truncated is false; without maxBuffer the field is absent", async () => {
    const r = await P.text(["sh", "-c", "printf hello"], { maxBuffer: 5, env })
    expect(r).toMatchObject({ code: 0, text: "hello", truncated: false })
    const plain = await P.run(["sh", "-c", "printf hello"], { env })
    expect("truncated" in plain).toBe(false)
  })

  it("a failing command throws RunFailedError with the prefix and truncated", async () => {
    const err = await P.run(["sh", "-c", "printf 0123456789; exit 4"], { maxBuffer: 4, env }).catch((e) => e)
    expect(err).toBeInstanceOf(RunFailedError)
    expect(err.code).toBe(4)
    expect(err.stdout.toString()).toBe("0123")
    expect(err.truncated).toBe(true)
  })

  it("an invalid cap is refused before anything is spawned", async () => {
    for (const bad of [-1, Number.NaN, "10"]) {
      const err = await P.run(["true"], { maxBuffer: bad as number }).catch((e) => e)
      expect(err.code).toBe("ERR_OUT_OF_RANGE")
    }
  })
})

describe("after the suite", () => {
  it("the let-go leftovers were really let go; they are killed now", async () => {
    const left = letGo.filter(alive)
    killAll(left)
    await waitFor(() => !left.some(alive), 5000, "let-go leftovers killed")
  })
})

