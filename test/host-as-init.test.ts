// A host that is pid 1 of its pid namespace: Node in a container started without --init.
// Every orphan in the namespace re-parents to it, yet PR_GET_CHILD_SUBREAPER says 0 for it.
// The fallback once read the host's children only when it was a subreaper, so there a
// tree's setsid escaper survived every cancel and a natural exit's leftovers were neither
// listed nor killed. Here Node itself is the namespace's init (test/pidns.ts, asInit),
// with the helper and without it.
import { describe, expect, it } from "vitest"
import { PROCFS, fixture, leakCheck } from "./helpers"
import { ROOT } from "./native-helpers"
import { runInPidNamespace } from "./pidns"

leakCheck()

const script = `
const { supervise } = require(${JSON.stringify(ROOT)})
const procfs = require(${JSON.stringify(PROCFS)})
const bound = (p, ms, what) => Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error("hang: " + what)), ms))])
const pidsIn = (text) => [...text.matchAll(/^pid \\S+ (\\d+)$/gm)].map((m) => Number(m[1]))
const aliveIn = (pids) => pids.filter((p) => procfs.alive(p))

// Starts argv with stdout piped; resolves with the child once its output says "ready".
async function started(argv, opts) {
  const c = supervise(argv, { stdout: "pipe", graceMs: 300, ...opts })
  let text = ""
  c.stdout.on("data", (b) => (text += b))
  await bound(new Promise((r) => { const t = setInterval(() => text.includes("ready") && (clearInterval(t), r()), 5) }), 10000, "ready")
  return { c, text: () => text }
}

// The zombies whose parent is us, pid 1.
const zombiesOfInit = () => require("fs").readdirSync("/proc").filter((d) => /^\\d+$/.test(d)).filter((d) => {
  try { return /^\\d+ \\(.*\\) Z 1 /s.test(require("fs").readFileSync("/proc/" + d + "/stat", "utf8")) } catch { return false }
}).map(Number)

async function main() {
  if (process.pid !== 1) throw new Error("not the namespace's init: pid " + process.pid)
  const results = {}
  // 1. A cancelled tree whose grandchild left the session (setsid): it lands on us.
  {
    const ac = new AbortController()
    const { c, text } = await started(["sh", ${JSON.stringify(fixture("setsid-escaper.sh"))}], { signal: ac.signal })
    ac.abort()
    const o = await bound(c.outcome, 15000, "cancel outcome")
    const pids = pidsIn(text())
    results.cancel = { reason: o.reason, truncated: o.truncated, errors: o.errors, containment: o.containment, pids: pids.length, alive: aliveIn(pids) }
  }
  // 2. A natural exit that leaves a setsid'd sleeper holding stdout, killTreeOnExit.
  {
    const { c, text } = await started(["sh", "-c", 'setsid sleep 300 & echo "pid leftover $!"; echo ready'], { killTreeOnExit: true })
    const o = await bound(c.outcome, 15000, "exit outcome")
    const pids = pidsIn(text())
    results.killTreeOnExit = { reason: o.reason, code: o.code, truncated: o.truncated, leftovers: o.leftovers, pids, alive: aliveIn(pids) }
  }
  // Without the helper the killed members were the host's zombies: they are reaped too.
  results.zombies = zombiesOfInit()
  // 3. The same without killTreeOnExit: the leftover is listed (and let go; killed here).
  {
    const { c, text } = await started(["sh", "-c", 'setsid sleep 300 >/dev/null & echo "pid leftover $!"; echo ready'])
    const o = await bound(c.outcome, 15000, "exit outcome")
    const pids = pidsIn(text())
    results.letGo = { reason: o.reason, leftovers: o.leftovers, pids }
    for (const p of pids) try { process.kill(p, "SIGKILL") } catch {}
    // Without the helper it landed on us: let go, then killed by us, it is not the
    // tree's to reap and stays our zombie (so the check above can see one). With the
    // helper it is the helper's, which reaps it.
    if (process.env.PAWWORK_SUPERVISOR_HELPER === "0") await bound(new Promise((r) => { const t = setInterval(() => zombiesOfInit().includes(pids[0]) && (clearInterval(t), r()), 5) }), 5000, "the let-go sleeper's zombie")
  }
  console.log(JSON.stringify(results))
}
main().then(() => process.exit(0), (e) => { console.error(e); process.exit(3) })
`

describe("a host that is pid 1 of its namespace (a container without --init)", () => {
  for (const mode of ["helper", "fallback"] as const) {
    it(`finds the orphans of its trees (${mode})`, async () => {
      const r = await runInPidNamespace(script, 60_000, { asInit: true, env: mode === "fallback" ? { PAWWORK_SUPERVISOR_HELPER: "0" } : {} })
      expect(r.status, r.stderr).toBe("0")
      const res = r.result as Record<string, any>
      expect(res.cancel.containment.startsWith("helper")).toBe(mode === "helper")
      // The escaper is killed, so the pipe ends at EOF rather than being cut by a bound.
      expect(res.cancel).toMatchObject({ reason: "abort", truncated: false, alive: [] })
      expect(res.cancel.pids).toBeGreaterThanOrEqual(1)
      const [leftover] = res.killTreeOnExit.pids
      expect(res.killTreeOnExit).toMatchObject({ reason: "exit", code: 0, truncated: false, alive: [] })
      expect(res.killTreeOnExit.leftovers).toContain(leftover)
      expect(res.letGo.leftovers).toContain(res.letGo.pids[0])
      expect(res.zombies).toEqual([])
    }, 90_000)
  }
})
