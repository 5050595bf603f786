// supervise()'s holdLeftovers (what pawwork-supervisor/dsh's waitForExit rests on): after
// the leader's natural exit the handle keeps owning what it left behind — 'exit', 'close'
// and `outcome` come at the leader's exit and the end of its streams; `treeEmpty` only
// once the tree is empty; a cancel after the close still kills the leftovers.
import { describe, expect, it } from "vitest"
import { supervise } from "../lib/index"
import { alive, killAll, leakCheck, ourProcesses, waitFor, within } from "./helpers"

leakCheck()

const pidOf = (s: string) => Number(/pid=(\d+)/.exec(s)?.[1])
const settledWithin = <T>(p: Promise<T>, ms: number) => Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))])

describe("supervise({ holdLeftovers })", () => {
  it("outcome at the close lists the leftover; treeEmpty waits; cancel() after the close kills a TERM-ignoring leftover", async () => {
    const c = supervise(["sh", "-c", "(trap '' TERM; exec sleep 30) >/dev/null 2>&1 & echo pid=$!"], { stdout: "pipe", holdLeftovers: true, graceMs: 300 })
    let out = ""
    c.stdout!.on("data", (b) => (out += b))
    const o = await within(c.outcome, 10_000, "outcome")
    const pid = pidOf(out)
    try {
      expect(o).toMatchObject({ code: 0, reason: "exit" })
      expect(o.leftovers).toContain(pid)
      expect(alive(pid)).toBe(true)
      expect(await settledWithin(c.treeEmpty, 300)).toBe(false)
      c.cancel()
      const last = await within(c.treeEmpty, 10_000, "treeEmpty after cancel")
      expect(last.reason).toBe("stop")
      expect(alive(pid)).toBe(false)
    } finally {
      if (ourProcesses().includes(pid)) killAll([pid])
    }
  })

  it("treeEmpty resolves by itself when the leftovers exit", async () => {
    const c = supervise(["sh", "-c", "sleep 0.5 >/dev/null 2>&1 &"], { holdLeftovers: true })
    const o = await within(c.outcome, 10_000, "outcome")
    expect(o.leftovers.length).toBe(1)
    const last = await within(c.treeEmpty, 10_000, "treeEmpty")
    expect(last).toMatchObject({ code: 0, reason: "exit" })
    await waitFor(() => !o.leftovers.some(alive), 2000, "leftover gone")
  })

  it("without holdLeftovers the leftovers are let go: cancel() after the exit refuses, treeEmpty is the outcome", async () => {
    const c = supervise(["sh", "-c", "sleep 30 >/dev/null 2>&1 & echo pid=$!"], { stdout: "pipe", graceMs: 300, drainIdleMs: 100 })
    let out = ""
    c.stdout!.on("data", (b) => (out += b))
    const o = await within(c.outcome, 10_000, "outcome")
    const pid = pidOf(out)
    try {
      expect(await within(c.treeEmpty, 1000, "treeEmpty")).toBe(o)
      expect(c.kill()).toBe(false)
      expect(alive(pid)).toBe(true)
    } finally {
      if (ourProcesses().includes(pid)) killAll([pid])
    }
  })
})
