// Issue 3's fixtures, as one suite run twice: with the helper (containment-helper.test.ts)
// and without it (containment-fallback.test.ts, PAWWORK_SUPERVISOR_HELPER=0). Each fixture
// is started through supervise() and Process, cancelled every way (abort, timeoutMs,
// stop, terminateTree), and then not one process of its tree may be alive.
import { describe, expect, it } from "vitest"
import { Process, containment, supervise } from "../lib/index"
import { alive, fixture, killAll, markedEnv, ourProcesses, pidsFrom, sleep, waitFor, within } from "./helpers"
import { capture, waitForText } from "./native-helpers"

export type Mode = "helper" | "fallback"

interface Fixture {
  name: string
  args?: string[]
  /** The fallback cannot contain it: the case is expected to fail there (it.fails). */
  escapesFallback?: boolean
  /** Cancel this long after "ready" (mid-growth for the fork storm). */
  settleMs?: number
}

const FIXTURES: Fixture[] = [
  { name: "spawn-tree.sh" }, // 1. three levels
  { name: "setsid-escaper.sh" }, // 2. a grandchild that calls setsid
  { name: "double-fork-daemon.sh", escapesFallback: true }, // 3. double fork, setsid, env -i
  { name: "job-control.sh" }, // 4. set -m: pipelines in their own groups
  { name: "stubborn-members.sh" }, // 5. leader dies on TERM, members ignore it
  { name: "fork-loop.sh" }, // 6. forks every few ms while being killed
  { name: "fork-storm.sh", args: ["8"], settleMs: 150 }, // 7. ~510 processes, cancelled mid-growth
]

type Way = "abort" | "timeoutMs" | "stop" | "terminateTree"
const WAYS: Way[] = ["abort", "timeoutMs", "stop", "terminateTree"]

const GRACE = 300

/** Starts fx, waits for "ready", cancels it the given way; returns the pids it printed. */
async function startAndCancel(fx: Fixture, way: Way): Promise<number[]> {
  const cmd = ["sh", fixture(fx.name), ...(fx.args ?? [])]
  const env = markedEnv()
  let text: () => string
  let cancel: () => Promise<unknown>
  if (way === "abort" || way === "timeoutMs") {
    const ac = new AbortController()
    // timeoutMs: long enough for "ready" on a loaded machine, then the timer cancels.
    const c = supervise(cmd, { stdout: "pipe", env, graceMs: GRACE, signal: ac.signal, ...(way === "timeoutMs" ? { timeoutMs: 2500 } : {}) })
    text = capture(c.stdout).text
    await waitForText(text, "ready")
    if (fx.settleMs) await sleep(fx.settleMs)
    cancel = async () => {
      if (way === "abort") ac.abort()
      const o = await c.outcome
      expect(o.reason).toBe(way === "abort" ? "abort" : "timeout")
    }
  } else {
    const child = Process.spawn(cmd, { stdout: "pipe", env })
    text = capture(child.stdout).text
    await waitForText(text, "ready")
    if (fx.settleMs) await sleep(fx.settleMs)
    cancel = async () => {
      if (way === "stop") await Process.stop(child)
      else await Process.terminateTree({ pid: child.pid!, graceMs: GRACE })
      await child.exited
    }
  }
  const pids = pidsFrom(text())
  await within(cancel(), 20_000, `${way} of ${fx.name}`)
  return pids
}

/** Everything of the suite (marked, or below this process and its helper) is gone. */
async function expectNothingLeft(printed: number[], what: string) {
  try {
    // The outcome is final only once the tree is confirmed empty; a short grace covers
    // the zombie-to-gone step of processes pid 1 reaps.
    await waitFor(() => !printed.some(alive) && ourProcesses().length === 0, 1500, what).catch(() => undefined)
    expect(printed.filter(alive), `${what}: printed pids alive`).toEqual([])
    expect(ourProcesses(), `${what}: marked or descendant processes alive`).toEqual([])
  } finally {
    killAll([...printed, ...ourProcesses()])
  }
}

export function containmentSuite(mode: Mode, opts: { cgroup?: boolean } = {}) {
  it(`containment() reports mode ${mode}${opts.cgroup === false ? " without a cgroup" : ""}`, () => {
    const info = containment()
    expect(info.mode, JSON.stringify(info)).toBe(mode)
    if (mode === "fallback") expect(info.reason).toMatch(/PAWWORK_SUPERVISOR_HELPER/)
    else expect(info.guarantees).toContain("host-death")
    if (opts.cgroup === false) {
      expect(info.guarantees).not.toContain("cgroup")
      expect(info.cgroupReason).toMatch(/PAWWORK_SUPERVISOR_CGROUP/)
    }
  })

  for (const fx of FIXTURES) {
    describe(fx.name, () => {
      for (const way of WAYS) {
        const run = mode === "fallback" && fx.escapesFallback ? it.fails : it
        run(`${way}: no process of the tree is left`, async () => {
          const printed = await startAndCancel(fx, way)
          await expectNothingLeft(printed, `${fx.name} after ${way}`)
        })
      }
    })
  }

  describe("natural exit (fixture 10)", () => {
    it("by default a leftover keeps running, is reported, and is no longer ours", async () => {
      const c = supervise(["sh", fixture("background-holder.sh")], { stdout: "pipe", env: markedEnv(), drainIdleMs: 200 })
      const out = capture(c.stdout)
      const o = await within(c.outcome, 10_000, "outcome")
      const [holder] = pidsFrom(out.text())
      try {
        expect(o.reason).toBe("exit")
        expect(o.leftovers).toContain(holder)
        expect(alive(holder)).toBe(true)
        expect(o.truncated).toBe(true) // it holds stdout past drainIdleMs
      } finally {
        killAll([holder])
      }
    })

    it("with killTreeOnExit the leftover is killed and listed, and EOF comes naturally", async () => {
      const c = supervise(["sh", fixture("background-holder.sh")], { stdout: "pipe", env: markedEnv(), killTreeOnExit: true, graceMs: GRACE })
      const out = capture(c.stdout)
      const o = await within(c.outcome, 10_000, "outcome")
      const [holder] = pidsFrom(out.text())
      expect(o.leftovers).toContain(holder)
      expect(o.truncated).toBe(false)
      await expectNothingLeft([holder], "killTreeOnExit")
    })
  })
}
