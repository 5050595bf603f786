// Issue 10 on the real addon, with the helper (the default): "the tree is gone" means
// reaped, and the tree's marker is no addition to an environment when a cgroup holds
// the tree.
import { describe, expect, it } from "vitest"
import { containment, supervise } from "../lib/index"
import { leakCheck, markedEnv, stat, waitFor, within } from "./helpers"
import { capture } from "./native-helpers"

leakCheck()

describe("with the helper", () => {
  it("runs the helper", () => {
    expect(containment().mode).toBe("helper")
  })

  // Defect 10: the killed grandchild re-parents to the helper as a zombie; the outcome
  // came before the helper reaped it, and /proc/<pid>/stat still said 'Z' (PawWork's
  // "aborts child processes started by a spawned process" failed 12 of 40 times).
  it("a cancelled tree's grandchild is reaped before the outcome, 40 times in a row", async () => {
    const seen: string[] = []
    for (let i = 0; i < 40; i++) {
      const c = supervise(["sh", "-c", "sleep 100 & echo $!; wait"], { stdout: "pipe", env: markedEnv() })
      const out = capture(c.stdout)
      await waitFor(() => /^\d+\n/.test(out.text()), 10_000, "the grandchild's pid")
      const gc = Number(out.text().trim())
      c.cancel()
      const o = await within(c.outcome, 10_000, "outcome")
      // No /proc entry: reaped.
      const s = stat(gc)
      if (s) seen.push(`run ${i}: pid ${gc} state ${s.state} ppid ${s.ppid}`)
      expect(o.errors).toEqual([])
    }
    expect(seen, "grandchildren still in /proc when the outcome came").toEqual([])
  })

  // Defect 9: `env: null` is an empty environment; with a cgroup the tree needs no
  // marker, so the child sees exactly nothing. Without one the marker is the one
  // addition, a random token.
  it("env: null gives the child an empty environment (plus the marker only without a cgroup)", async () => {
    const info = containment()
    const c = supervise(["/usr/bin/env"], { stdout: "pipe", env: null })
    const out = capture(c.stdout)
    const o = await within(c.outcome, 10_000, "outcome")
    expect(o.code).toBe(0)
    if (info.guarantees.includes("cgroup")) {
      expect(out.text()).toBe("")
      expect(o.containment).not.toMatch(/marker/)
    } else {
      expect(out.text()).toMatch(/^PAWWORK_SUPERVISOR_TREE=[0-9a-f]{32}\n$/)
    }
  })
})
