// Issue 10, defects 4 and 6, seen from Node: the helper never blocks the event loop,
// and a large request keeps the helper's containment.
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { supervise } from "../lib/index"
import { PROCFS, leakCheck, markedEnv, within } from "./helpers"
import { ROOT, capture, runNode } from "./native-helpers"

leakCheck()

/**
 * A host whose helper is `helper`: three spawns, each one's synchronous part timed,
 * then containment() and the zombies among its children; prints one JSON line.
 */
function hostScript(helper: string): string {
  return `
    process.env.PAWWORK_SUPERVISOR_HELPER = ${JSON.stringify(helper)}
    const procfs = require(${JSON.stringify(PROCFS)})
    const { supervise, containment } = require(${JSON.stringify(ROOT)})
    const zombies = () => procfs.pids().filter((n) => {
      const s = procfs.stat(n)
      return s !== undefined && s.state === "Z" && s.ppid === process.pid
    })
    ;(async () => {
      const ms = []
      for (let i = 0; i < 3; i++) {
        const t0 = process.hrtime.bigint()
        const c = supervise(["true"], {})
        ms.push(Number(process.hrtime.bigint() - t0) / 1e6)
        await c.outcome
      }
      const info = containment()
      let z = zombies()
      for (let i = 0; i < 100 && z.length > 0; i++) { await new Promise((r) => setTimeout(r, 20)); z = zombies() }
      console.log(JSON.stringify({ ms, info, zombies: z }))
      // A helper that never says hello is killed (after 5 s) while the host lives.
      for (let i = 0; i < 100 && /has not said hello yet/.test(containment().reason || ""); i++) await new Promise((r) => setTimeout(r, 100))
      console.log("then: " + containment().reason)
    })()`
}

async function host(helper: string) {
  const r = await runNode(process.execPath, ["-e", hostScript(helper)], { boundMs: 60_000 })
  const line = r.stdout.split("\n").find((l) => l.startsWith("{"))
  expect(line, r.stdout + r.stderr).toBeDefined()
  const then = /^then: (.*)$/m.exec(r.stdout)?.[1]
  return { ...(JSON.parse(line!) as { ms: number[]; info: { mode: string; reason?: string }; zombies: number[] }), then }
}

describe("a helper of no use never blocks the event loop", () => {
  it("one that exits before its hello: spawns stay fast, fall back, leave no zombie", async () => {
    const { ms, info, zombies } = await host("/bin/true")
    // A hang detector, not a benchmark: each spawn took 5 s before.
    expect(Math.max(...ms), JSON.stringify(ms)).toBeLessThan(1000)
    expect(info.mode).toBe("fallback")
    expect(info.reason).toMatch(/hello/)
    expect(zombies).toEqual([])
  })

  it("one that never says hello: waited for once, briefly, with the reason reported, then killed", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pws-mute-"))
    const mute = path.join(dir, "mute-helper")
    fs.writeFileSync(mute, "#!/bin/sh\nexec sleep 30\n", { mode: 0o755 })
    try {
      const { ms, info, then } = await host(mute)
      expect(ms.reduce((a, b) => a + b, 0), JSON.stringify(ms)).toBeLessThan(2000) // was 5 s
      expect(info.mode).toBe("fallback")
      expect(info.reason).toMatch(/hello/)
      expect(then).toMatch(/did not say hello within/)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})

describe("a request larger than one helper message (~208 KB of argv+env)", () => {
  it("is spawned by the helper, with its containment", async () => {
    const big = "x".repeat(100_000)
    const c = supervise(["sh", "-c", 'printf "%s" "$BIG3" | wc -c'], {
      stdout: "pipe",
      env: markedEnv({ ...process.env, BIG1: big, BIG2: big, BIG3: big + "y" }),
    })
    const out = capture(c.stdout)
    const o = await within(c.outcome, 20_000, "outcome")
    expect(o.code).toBe(0)
    expect(out.text().trim()).toBe("100001")
    expect(o.containment).toMatch(/^helper/)
  })
})
