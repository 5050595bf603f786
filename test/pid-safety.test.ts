// Pids that name no single process are refused, never passed to kill(): defect 3.
// terminateTree({pid: -1}) called kill(-1, SIGTERM) — every process on the machine, as
// root — and {pid: 0} the host's own group; exists(-1)/exists(0) answered true. Anything
// that could signal what we do not own runs only inside a private pid namespace
// (test/pidns.ts): a regression there kills the namespace, not the machine.
import { describe, expect, it } from "vitest"
import { native } from "../lib/native"
import { legacy } from "../lib/legacy"
import { Process, setImplementation } from "../lib/index"
import { PROCFS, leakCheck, markedEnv, stat, waitFor } from "./helpers"
import { ROOT } from "./native-helpers"
import { runInPidNamespace } from "./pidns"

leakCheck()

/** The script run inside the namespace: every bad pid through every entry point. */
const script = `
const { native, legacy, Process, setImplementation } = require(${JSON.stringify(ROOT)})
const cp = require("node:child_process")
const procfs = require(${JSON.stringify(PROCFS)})
const bound = (p, ms) => Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(Object.assign(new Error("hang"), { code: "HANG" })), ms))])
const outcome = async (f) => {
  try {
    const v = await bound(Promise.resolve().then(f), 5000)
    return typeof v === "boolean" ? v : Array.isArray(v) ? "list" : "resolved"
  } catch (e) {
    return e.code ?? e.name
  }
}

async function main() {
  // Sentinels: one in a group of its own (reached by kill(-1)), one in the script's group
  // (reached by kill(0)). Both must outlive every call below.
  const own = cp.spawn("sleep", ["60"], { detached: true, stdio: "ignore" })
  const group = cp.spawn("sleep", ["60"], { stdio: "ignore" })
  const sentinels = [own, group]
  const apis = {
    native,
    legacy,
    "Process(native)": { terminateTree: (i) => (setImplementation("native"), Process.terminateTree(i)), exists: (p) => (setImplementation("native"), Process.exists(p)), descendants: (p) => (setImplementation("native"), Process.descendants(p)) },
    "Process(legacy)": { terminateTree: (i) => (setImplementation("legacy"), Process.terminateTree(i)), exists: (p) => (setImplementation("legacy"), Process.exists(p)), descendants: (p) => (setImplementation("legacy"), Process.descendants(p)) },
  }
  const pids = [["-1", -1], ["0", 0], ["1", 1], ["-2", -2], ["1.5", 1.5], ["NaN", NaN], ["Infinity", Infinity], ["2**53", 2 ** 53], ["2**22+1", 2 ** 22 + 1], ["self", process.pid], ['"1"', "1"]]
  const results = []
  for (const [api, P] of Object.entries(apis)) {
    for (const [label, pid] of pids) {
      results.push({
        api,
        pid: label,
        terminateTree: await outcome(() => P.terminateTree({ pid, graceMs: 50 })),
        exists: await outcome(() => P.exists(pid)),
        descendants: await outcome(() => P.descendants(pid)),
      })
    }
    // A finder that returns pids naming groups, init or the host: none may be signalled.
    const target = cp.spawn("sleep", ["60"], { detached: true, stdio: "ignore" })
    const died = new Promise((r) => target.once("exit", (code, sig) => r(sig)))
    const r = await outcome(() => P.terminateTree({ pid: target.pid, graceMs: 100, findDescendants: async () => [0, -1, 1, process.pid, 1.5, -target.pid] }))
    results.push({ api, pid: "target with a bad finder", terminateTree: r, targetSignal: await bound(died, 5000).catch((e) => e.code) })
  }
  await new Promise((r) => setTimeout(r, 100))
  const alive = sentinels.map((s) => s.exitCode === null && s.signalCode === null && procfs.alive(s.pid))
  for (const s of sentinels) s.kill("SIGKILL")
  console.log(JSON.stringify({ results, sentinelsAlive: alive }))
}
main().catch((e) => {
  console.log(JSON.stringify({ crashed: String(e && e.stack) }))
  process.exitCode = 3
})
`

describe.skipIf(process.platform !== "linux")("bad pids, inside a private pid namespace", () => {
  it("terminateTree refuses every pid that names no single process (and 1, and the host); exists/descendants refuse the same as Node would; nothing outside the tree is signalled", async () => {
    const r = await runInPidNamespace(script, 120_000)
    expect(r.stderr).toBe("")
    // Before the fix: "signal:TERM" — {pid: 0} (or the host's own pid) killed the host.
    expect(r.status).toBe("0")
    const out = r.result as { results: Record<string, unknown>[]; sentinelsAlive: boolean[] }
    // Before the fix: kill(-1, SIGTERM) killed the sentinel in a group of its own.
    expect(out.sentinelsAlive).toEqual([true, true])
    const expected: Record<string, unknown>[] = []
    for (const api of ["native", "legacy", "Process(native)", "Process(legacy)"]) {
      for (const pid of ["-1", "0", "1", "-2", "1.5", "NaN", "Infinity", "2**53", "2**22+1", "self", '"1"']) {
        const type = pid === '"1"'
        const onePid = pid === "1" || pid === "self"
        expected.push({
          api,
          pid,
          terminateTree: type ? "ERR_INVALID_ARG_TYPE" : "ERR_INVALID_ARG_VALUE",
          // exists(1) and exists(self) are true answers about one process.
          exists: type ? "ERR_INVALID_ARG_TYPE" : onePid ? true : "ERR_INVALID_ARG_VALUE",
          descendants: type ? "ERR_INVALID_ARG_TYPE" : onePid ? "list" : "ERR_INVALID_ARG_VALUE",
        })
      }
      expected.push({ api, pid: "target with a bad finder", terminateTree: "resolved", targetSignal: "SIGTERM" })
    }
    expect(out.results).toEqual(expected)
  }, 150_000)
})

/** A zombie: a child that exited, whose parent (perl, sleeping) never reaps it. */
async function withZombie(f: (pid: number) => void): Promise<void> {
  const { spawn } = await import("node:child_process")
  const parent = spawn("perl", ["-e", '$| = 1; my $p = fork // die; exit 0 unless $p; print "$p\n"; sleep 30'], { env: { ...process.env, ...markedEnv() }, stdio: ["ignore", "pipe", "ignore"] })
  try {
    let out = ""
    parent.stdout!.on("data", (b) => (out += b))
    await waitFor(() => /^\d+\n/.test(out), 10_000, "the zombie's pid")
    const pid = Number(out.trim())
    await waitFor(() => stat(pid)?.state === "Z", 10_000, "state Z")
    f(pid)
  } finally {
    parent.kill("SIGKILL")
    await new Promise((r) => (parent.exitCode !== null || parent.signalCode !== null ? r(null) : parent.once("exit", r)))
  }
}

describe.skipIf(process.platform !== "linux")("exists and zombies", () => {
  it("native: a zombie is gone (it answers kill(pid, 0) but has ended)", async () => {
    await withZombie((pid) => {
      expect(native.exists(pid)).toBe(false)
      setImplementation("native")
      expect(Process.exists(pid)).toBe(false)
    })
  })

  it("native: a live process exists", () => {
    expect(native.exists(process.pid)).toBe(true)
    expect(native.exists(1)).toBe(true)
  })

  it("native: another user's process (kill answers EPERM) exists; legacy keeps the baseline's 'dead'", async () => {
    // pid 1 is root's: probed by a host that is not root (nobody, when the tests run as root).
    const { spawnSync } = await import("node:child_process")
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {}
    const r = spawnSync(process.execPath, ["-e", `const { native, legacy } = require(${JSON.stringify(ROOT)}); console.log(JSON.stringify([native.exists(1), legacy.exists(1)]))`], { ...asNobody, cwd: "/", env: { ...process.env, ...markedEnv() }, timeout: 15_000 })
    expect(r.stderr.toString()).toBe("")
    expect(JSON.parse(r.stdout.toString())).toEqual([true, false])
  })

  it("legacy keeps the baseline's signal-0 answer for a zombie (alive)", async () => {
    await withZombie((pid) => expect(legacy.exists(pid)).toBe(true))
  })

  it("exists throws for a pid that names no single process, in the test process too (a probe signals nothing)", () => {
    for (const P of [native, legacy]) {
      for (const pid of [-1, 0, 1.5, NaN, 2 ** 53]) {
        let code: string | undefined
        try {
          P.exists(pid)
        } catch (e) {
          code = (e as { code?: string }).code
          expect(e).toBeInstanceOf(TypeError)
        }
        expect(code, `exists(${pid})`).toBe("ERR_INVALID_ARG_VALUE")
      }
    }
  })
})
