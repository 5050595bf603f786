// What only the native supervisor does, on the real addon: supervise()'s outcome, its
// cancellation reasons and ladder, merged output, and the Node conventions of
// SupervisedChild. Other native-only topics are in native-*.test.ts.
import { describe, expect, it } from "vitest"
import { supervise, type Outcome } from "../lib/index"
import { alive, fixture, leakCheck, markedEnv, pidsFrom, sleep, waitFor, within } from "./helpers"
import { capture, pidsOf, waitForText } from "./native-helpers"

leakCheck()

const env = markedEnv()

function expectWellFormed(o: Outcome, pid: number | undefined): void {
  expect(o.pid).toBe(pid)
  expect(typeof o.durationMs).toBe("number")
  expect(o.durationMs).toBeGreaterThan(0)
  expect(o.durationMs).toBeLessThan(20_000)
  expect(o.durationMs).toBeGreaterThanOrEqual(o.phases.runMs)
  for (const k of ["runMs", "graceMs", "killMs", "drainMs"] as const) expect(o.phases[k]).toBeGreaterThanOrEqual(0)
  expect(Array.isArray(o.leftovers)).toBe(true)
  expect(Array.isArray(o.errors)).toBe(true)
  // Linux: a new session and group per child, members signalled through pidfds.
  expect(o.containment).toMatch(/(^|\+)session\+pgroup/)
}

describe("supervise() outcome", () => {
  it("a natural exit reports code, bytes per stream, reason exit and no cancellation phases", async () => {
    const c = supervise(["sh", "-c", "printf out; printf errr >&2; exit 3"], { stdout: "pipe", stderr: "pipe", env })
    const out = capture(c.stdout)
    const err = capture(c.stderr)
    const o = await within(c.outcome, 10_000, "outcome")
    expectWellFormed(o, c.pid)
    expect(o).toMatchObject({ code: 3, signal: null, reason: "exit", stdoutBytes: 3, stderrBytes: 4, truncated: false, leftovers: [], errors: [] })
    expect(o.phases.runMs).toBeGreaterThan(0)
    expect(o.phases.graceMs).toBe(0)
    expect(o.phases.killMs).toBe(0)
    expect(out.text()).toBe("out")
    expect(err.text()).toBe("errr")
    expect(await c.exited).toBe(3)
    expect(c.exitCode).toBe(3)
    expect(c.signalCode).toBe(null)
  })

  it("exited and treeEmpty, made only when asked for, settle alike whether asked before or after the end", async () => {
    const early = supervise(["sh", "-c", "exit 4"], { env })
    const earlyTree = early.treeEmpty
    const earlyExited = early.exited
    const late = supervise(["sh", "-c", "exit 5"], { env })
    const o = await within(late.outcome, 10_000, "outcome")
    await sleep(20) // settled well before anyone asks
    expect(await within(late.treeEmpty, 1000, "treeEmpty asked late")).toBe(o)
    expect(await within(late.exited, 1000, "exited asked late")).toBe(5)
    expect(late.treeEmpty).toBe(late.treeEmpty) // one promise, not one per access
    expect(late.exited).toBe(late.exited)
    expect(await within(earlyTree, 10_000, "treeEmpty asked early")).toBe(await early.outcome)
    expect(await earlyExited).toBe(4)
  })

  it("a leader killed by a signal on its own reports that signal, code null, reason exit", async () => {
    const c = supervise(["sh", "-c", "kill -KILL $$"], { env })
    const o = await within(c.outcome, 10_000, "outcome")
    expectWellFormed(o, c.pid)
    expect(o).toMatchObject({ code: null, signal: "SIGKILL", reason: "exit", truncated: false })
    expect(await c.exited).toBe(1)
    expect(c.signalCode).toBe("SIGKILL")
    expect(c.exitCode).toBe(null)
  })

  it("cancel() ends the child with reason stop, SIGTERM first and no SIGKILL needed", async () => {
    const c = supervise(["sleep", "30"], { env })
    await sleep(50)
    const o = await within(c.cancel(), 10_000, "cancel")
    expectWellFormed(o, c.pid)
    expect(o).toMatchObject({ code: null, signal: "SIGTERM", reason: "stop", truncated: false, errors: [] })
    expect(o.phases.killMs).toBe(0)
    expect(alive(c.pid!)).toBe(false)
  })

  it("an AbortSignal ends the child with reason abort", async () => {
    const ac = new AbortController()
    const c = supervise(["sleep", "30"], { signal: ac.signal, env })
    await sleep(50)
    ac.abort()
    const o = await within(c.outcome, 10_000, "outcome")
    expectWellFormed(o, c.pid)
    expect(o).toMatchObject({ signal: "SIGTERM", reason: "abort" })
    expect(alive(c.pid!)).toBe(false)
  })

  it("timeoutMs ends the child with reason timeout and delivers all output written before it", async () => {
    const script = 'i=0; while [ $i -lt 2000 ]; do echo "line $i"; i=$((i+1)); done; echo before; sleep 30'
    const expected = Array.from({ length: 2000 }, (_, i) => `line ${i}\n`).join("") + "before\n"
    const c = supervise(["sh", "-c", script], { stdout: "pipe", timeoutMs: 600, env })
    const out = capture(c.stdout)
    const o = await within(c.outcome, 10_000, "outcome")
    expectWellFormed(o, c.pid)
    expect(o).toMatchObject({ code: null, signal: "SIGTERM", reason: "timeout", truncated: false })
    // Not before the limit (a correctness bound, not a speed one).
    expect(o.phases.runMs).toBeGreaterThanOrEqual(590)
    expect(out.text()).toBe(expected)
    expect(o.stdoutBytes).toBe(Buffer.byteLength(expected))
  })

  it("a TERM-ignoring child gets SIGKILL after graceMs (killMs > 0, the grace phase took the grace)", async () => {
    const c = supervise([fixture("ignore-sigterm.sh")], { stdout: "pipe", graceMs: 400, env })
    const out = capture(c.stdout)
    await waitForText(out.text, "ready")
    const o = await within(c.cancel(), 15_000, "cancel")
    expectWellFormed(o, c.pid)
    expect(o).toMatchObject({ code: null, signal: "SIGKILL", reason: "stop", errors: [] })
    expect(o.phases.graceMs).toBeGreaterThanOrEqual(390)
    expect(o.phases.killMs).toBeGreaterThan(0)
    expect(pidsFrom(out.text()).filter(alive)).toEqual([])
  })

  it("killSignal chooses the first signal (SIGINT is what the leader dies of)", async () => {
    const c = supervise(["sleep", "30"], { killSignal: "SIGINT", env })
    await sleep(50)
    const o = await within(c.cancel(), 10_000, "cancel")
    expect(o).toMatchObject({ signal: "SIGINT", reason: "stop" })
    expect(o.phases.killMs).toBe(0)
    expect(c.signalCode).toBe("SIGINT")
  })

  it("cancelling twice resolves the first cancellation's outcome and does not throw", async () => {
    const c = supervise(["sleep", "30"], { env })
    await sleep(50)
    const first = c.cancel()
    const second = c.cancel({ signal: "SIGKILL", graceMs: 0 })
    const [a, b] = await within(Promise.all([first, second]), 10_000, "cancels")
    expect(b).toBe(a)
    // The second cancellation was a no-op: the first one's signal ended the child.
    expect(a.signal).toBe("SIGTERM")
    expect(await c.cancel()).toBe(a)
  })

  it("cancelling after a natural exit resolves the exit's outcome; kill() returns false", async () => {
    const c = supervise(["true"], { env })
    const o = await within(c.outcome, 10_000, "outcome")
    expect(o.reason).toBe("exit")
    expect(await within(c.cancel(), 1000, "late cancel")).toBe(o)
    expect(await c.cancel({ signal: "SIGKILL" })).toBe(o)
    expect(c.kill()).toBe(false)
    expect(c.killed).toBe(false)
  })
})

describe("cancellation edge cases", () => {
  it("graceMs 0 sends SIGKILL at once after the first signal", async () => {
    const c = supervise([fixture("ignore-sigterm.sh")], { stdout: "pipe", env })
    const out = capture(c.stdout)
    await waitForText(out.text, "ready")
    const o = await within(c.cancel({ graceMs: 0 }), 10_000, "cancel")
    expect(o).toMatchObject({ signal: "SIGKILL", reason: "stop" })
    expect(o.phases.killMs).toBeGreaterThan(0)
    // Well under the 5 s default grace: the 0 was applied, not taken for "default".
    expect(o.durationMs).toBeLessThan(4000)
  })

  it("kill('SIGKILL') and [Symbol.dispose]() end the child by SIGKILL", async () => {
    const a = supervise(["sleep", "30"], { env })
    const b = supervise(["sleep", "30"], { env })
    await sleep(50)
    expect(a.kill("SIGKILL")).toBe(true)
    b[Symbol.dispose]()
    const [oa, ob] = await within(Promise.all([a.outcome, b.outcome]), 10_000, "outcomes")
    expect(oa).toMatchObject({ signal: "SIGKILL", reason: "stop" })
    expect(ob).toMatchObject({ signal: "SIGKILL", reason: "stop" })
    expect(b.killed).toBe(true)
  })

  it("an abort after the exit, and a timeout longer than the run, change nothing", async () => {
    const ac = new AbortController()
    const c = supervise(["true"], { signal: ac.signal, timeoutMs: 200, env })
    const o = await within(c.outcome, 10_000, "outcome")
    ac.abort()
    await sleep(400)
    expect(o).toMatchObject({ code: 0, reason: "exit", errors: [] })
    expect(await c.cancel()).toBe(o)
  })

  it("a cancel racing a natural exit settles once, as exit or as stop", async () => {
    for (let i = 0; i < 20; i++) {
      const c = supervise(["true"], { env })
      const cancelled = c.cancel({ graceMs: 100 })
      const o = await within(c.outcome, 10_000, `outcome ${i}`)
      expect(await cancelled).toBe(o)
      expect(["exit", "stop"]).toContain(o.reason)
    }
  })
})

describe("many children at once", () => {
  it("40 concurrent children keep their output, codes and outcomes apart", async () => {
    const n = 40
    const runs = Array.from({ length: n }, (_, i) => {
      const c = supervise(["sh", "-c", `i=0; while [ $i -lt 300 ]; do echo "c${i} $i"; i=$((i+1)); done; echo e${i} >&2; exit ${i % 7}`], { stdout: "pipe", stderr: "pipe", env })
      const out = capture(c.stdout)
      const err = capture(c.stderr)
      return c.outcome.then((o) => ({ o, out: out.text(), err: err.text(), pid: c.pid }))
    })
    const results = await within(Promise.all(runs), 30_000, "all outcomes")
    results.forEach((r, i) => {
      expect(r.out).toBe(Array.from({ length: 300 }, (_, j) => `c${i} ${j}\n`).join(""))
      expect(r.err).toBe(`e${i}\n`)
      expect(r.o).toMatchObject({ pid: r.pid, code: i % 7, reason: "exit", stdoutBytes: Buffer.byteLength(r.out), stderrBytes: r.err.length })
    })
  })
})

describe("merged output", () => {
  it('stderr: "stdout" gives one stream in the order the child wrote', async () => {
    const c = supervise(["sh", "-c", "echo 1; echo 2 >&2; echo 3; echo 4 >&2"], { stdout: "pipe", stderr: "stdout", env })
    expect(c.stderr).toBe(null)
    const out = capture(c.stdout)
    const o = await within(c.outcome, 10_000, "outcome")
    expect(out.text()).toBe("1\n2\n3\n4\n")
    expect(o.stdoutBytes).toBe(8)
    expect(o.stderrBytes).toBe(0)
  })

  it("stays in write order over many alternating writes", async () => {
    const script = 'i=0; while [ $i -lt 500 ]; do echo "o$i"; echo "e$i" >&2; i=$((i+1)); done'
    const expected = Array.from({ length: 500 }, (_, i) => `o${i}\ne${i}\n`).join("")
    const c = supervise(["sh", "-c", script], { stdout: "pipe", stderr: "stdout", env })
    const out = capture(c.stdout)
    await within(c.outcome, 10_000, "outcome")
    expect(out.text()).toBe(expected)
  })
})

describe("Node conventions of SupervisedChild", () => {
  it("kill() sets killed and starts the ladder (a TERM-ignoring child still ends, by SIGKILL)", async () => {
    const c = supervise([fixture("ignore-sigterm.sh")], { stdout: "pipe", graceMs: 300, env })
    const out = capture(c.stdout)
    await waitForText(out.text, "ready")
    expect(c.killed).toBe(false)
    expect(c.kill()).toBe(true)
    expect(c.killed).toBe(true)
    const o = await within(c.outcome, 10_000, "outcome")
    expect(o).toMatchObject({ reason: "stop", signal: "SIGKILL" })
    expect(o.phases.killMs).toBeGreaterThan(0)
    expect(c.signalCode).toBe("SIGKILL")
  })

  it("kill('SIGUSR1') goes to the leader only, and does not end the child", async () => {
    const c = supervise([fixture("usr1-echo.sh")], { stdout: "pipe", env })
    const out = capture(c.stdout)
    await waitForText(out.text, "ready")
    expect(c.kill("SIGUSR1")).toBe(true)
    await waitForText(out.text, "usr1 leader")
    // Give the member time to print too, were the signal sent to the tree.
    await sleep(400)
    expect(out.text()).not.toContain("usr1 member")
    expect(c.exitCode).toBe(null)
    expect(alive(c.pid!)).toBe(true)
    // signalTree is the way to reach every member.
    expect(c.signalTree("SIGUSR1")).toBe(true)
    await waitForText(out.text, "usr1 member")
    const o = await within(c.cancel({ graceMs: 2000 }), 10_000, "cancel")
    expect(o.reason).toBe("stop")
    expect(pidsOf(out.text(), "member").filter(alive)).toEqual([])
  })

  it("kill(0) probes without killing; an unknown signal throws", async () => {
    const c = supervise(["sleep", "30"], { env })
    expect(c.kill(0)).toBe(true)
    expect(c.killed).toBe(false)
    expect(() => c.kill("SIGNOPE" as NodeJS.Signals)).toThrow(TypeError)
    expect(alive(c.pid!)).toBe(true)
    await within(c.cancel(), 10_000, "cancel")
  })

  it("exitCode and signalCode are null while running and set at 'exit'", async () => {
    const c = supervise(["sh", "-c", "sleep 0.2; exit 5"], { env })
    expect(c.exitCode).toBe(null)
    expect(c.signalCode).toBe(null)
    const atExit = new Promise<[number | null, string | null, number | null]>((r) => c.on("exit", (code, sig) => r([code, sig, c.exitCode])))
    expect(await within(atExit, 10_000, "exit")).toEqual([5, null, 5])
    const d = supervise(["sleep", "30"], { env })
    await sleep(50)
    d.kill()
    await within(d.exited, 10_000, "exited")
    expect(d.exitCode).toBe(null)
    expect(d.signalCode).toBe("SIGTERM")
  })

  it("emits 'spawn', then 'exit' before 'close', with the same (code, signal)", async () => {
    const c = supervise(["sh", "-c", "echo hi; exit 2"], { stdout: "pipe", stderr: "pipe", env })
    const events: string[] = []
    c.on("spawn", () => events.push("spawn"))
    c.stdout!.on("data", () => {})
    c.stdout!.on("end", () => events.push("stdout end"))
    c.on("exit", (code, sig) => events.push(`exit ${code} ${sig}`))
    const closed = new Promise<void>((r) =>
      c.on("close", (code, sig) => {
        events.push(`close ${code} ${sig}`)
        r()
      }),
    )
    await within(closed, 10_000, "close")
    expect(events).toEqual(["spawn", "stdout end", "exit 2 null", "close 2 null"])
  })

  it("ref() and unref() are idempotent, do not disturb the child, and are harmless after the exit", async () => {
    const c = supervise(["sh", "-c", "sleep 0.2"], { env })
    c.unref()
    c.unref()
    c.ref()
    c.ref()
    c.unref()
    c.ref()
    const o = await within(c.outcome, 10_000, "outcome")
    expect(o.code).toBe(0)
    c.ref()
    c.unref()
    // That they change whether Node stays alive is checked in a subprocess (native-host).
    await waitFor(() => !alive(c.pid!), 1000, "leader gone")
  })
})
