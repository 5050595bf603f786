// The native supervisor inside its host: Node exits when nothing is running (and keeps
// running while something is), both module systems load it, on Node 20 and Node 24, and
// what the host started does not outlive it. worker_threads are in native-workers.
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { alive, fixture, killAll, leakCheck, pidsFrom, waitFor } from "./helpers"
import { ROOT, nodeBinaries, runNode } from "./native-helpers"

leakCheck()

const nodes = nodeBinaries()

const req = `require(${JSON.stringify(ROOT)})`

describe.each(nodes)("the host process (%s)", (_, node) => {
  it("exits by itself with code 0 once the child it awaited has exited", async () => {
    const script = `
      const { supervise } = ${req}
      supervise(["/bin/true"]).outcome.then((o) => console.log(o.reason, o.code))`
    const r = await runNode(node, ["-e", script])
    expect(r.stderr).toBe("")
    expect(r.stdout).toBe("exit 0\n")
    expect(r.code).toBe(0)
  })

  it("exits promptly while an unref()'d child runs, and that child dies with it", async () => {
    const script = `
      const { supervise } = ${req}
      const c = supervise(["sleep", "30"])
      c.unref()
      console.log("pid " + c.pid)`
    const r = await runNode(node, ["-e", script], { boundMs: 15_000 })
    const pid = Number(/^pid (\d+)$/m.exec(r.stdout)?.[1])
    try {
      expect(r.stderr).toBe("")
      expect(r.code).toBe(0)
      expect(pid).toBeGreaterThan(0)
      // Well before the child's 30 s: Node did not wait for it.
      expect(r.ms).toBeLessThan(15_000)
      // Host death: the trees it owned are killed (DESIGN: within a second).
      await waitFor(() => !alive(pid), 3000, "the unref'd child gone with its host")
    } finally {
      killAll([pid])
    }
  })

  it("stays alive while a child runs, and after unref() twice then ref() once too", async () => {
    const script = `
      const { supervise } = ${req}
      const a = supervise(["sleep", "0.5"])
      a.outcome.then((o) => console.log("a", o.reason, o.code))
      const b = supervise(["sleep", "0.7"])
      b.unref()
      b.unref()
      b.ref()
      b.outcome.then((o) => console.log("b", o.reason, o.code))`
    const r = await runNode(node, ["-e", script])
    expect(r.stderr).toBe("")
    expect(r.stdout).toBe("a exit 0\nb exit 0\n")
    expect(r.code).toBe(0)
  })

  it("a listener that throws is an uncaught exception of the host, as with child_process", async () => {
    const script = `
      const { supervise } = ${req}
      const c = supervise(["echo", "hi"], { stdout: "pipe" })
      c.stdout.on("data", () => { throw new Error("boom from a data listener") })`
    const r = await runNode(node, ["-e", script])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("boom from a data listener")
    expect(r.stderr).not.toContain("DEP0168")
  })

  it("import (ESM) and require (CommonJS) both give the API", async () => {
    const esm = `
      import { Process, supervise, SupervisedChild, RunFailedError, TERMINATION_GRACE_MS, setImplementation } from ${JSON.stringify(path.join(ROOT, "dist", "index.mjs"))}
      console.log(typeof Process.spawn, typeof Process.run, typeof supervise, typeof SupervisedChild, typeof RunFailedError, TERMINATION_GRACE_MS, typeof setImplementation)
      const o = await supervise(["/bin/true"]).outcome
      console.log(o.reason, o.code, (await Process.text(["echo", "hi"])).text.trim())`
    const cjs = `
      const { Process, supervise, SupervisedChild, RunFailedError, TERMINATION_GRACE_MS, setImplementation } = ${req}
      console.log(typeof Process.spawn, typeof Process.run, typeof supervise, typeof SupervisedChild, typeof RunFailedError, TERMINATION_GRACE_MS, typeof setImplementation)
      supervise(["/bin/true"]).outcome.then(async (o) => console.log(o.reason, o.code, (await Process.text(["echo", "hi"])).text.trim()))`
    const expected = "function function function function function 500 function\nexit 0 hi\n"
    for (const args of [["--input-type=module", "-e", esm], ["-e", cjs]]) {
      const r = await runNode(node, args)
      expect(r.stderr, args[0]).toBe("")
      expect(r.stdout, args[0]).toBe(expected)
      expect(r.code, args[0]).toBe(0)
    }
  })
})

/**
 * A host that supervises spawn-tree.sh, forwards its "pid ..." lines and, once the tree
 * is ready, dies by `how`. Returns the tree's pids.
 */
async function treeOfDeadHost(node: string, how: string, env?: Record<string, string>): Promise<{ pids: number[]; code: number | null; signal: string | null }> {
  const script = `
    const { supervise } = ${req}
    const c = supervise([${JSON.stringify(fixture("spawn-tree.sh"))}], { stdout: "pipe" })
    let out = ""
    c.stdout.on("data", (b) => {
      out += b
      process.stdout.write(b)
      if (out.includes("ready")) setImmediate(() => { ${how} })
    })`
  const r = await runNode(node, ["-e", script], { env })
  return { pids: pidsFrom(r.stdout), code: r.code, signal: r.signal }
}

describe.each(nodes)("host death (%s): nothing it started outlives it", (_, node) => {
  // Env cleanup hooks do not run on process.exit() or a crash: the helper sees its
  // socket close and kills the trees.
  it.each([
    ["process.exit(0)", "process.exit(0)"],
    ["an uncaught exception", "throw new Error('host crash')"],
  ])("%s kills the whole tree within a second", async (_, how) => {
    const { pids, code } = await treeOfDeadHost(node, how)
    try {
      expect(pids).toHaveLength(4)
      expect(code).not.toBe(null)
      // DESIGN, host death: every tree it owned is killed within a second (2 s here).
      await waitFor(() => !pids.some(alive), 2000, `tree of a host ended by ${how} gone; alive: ${pids.filter(alive)}`)
    } finally {
      killAll(pids)
    }
  })

  it("SIGKILL of the host kills the whole tree (the helper sees its socket close)", async () => {
    const { pids, signal } = await treeOfDeadHost(node, "process.kill(process.pid, 'SIGKILL')")
    try {
      expect(signal).toBe("SIGKILL")
      await waitFor(() => !pids.some(alive), 2000, "tree of a SIGKILLed host gone")
    } finally {
      killAll(pids)
    }
  })
})

describe.each(nodes)("host exit without the helper (%s): the host's 'exit' kills its trees", (_, node) => {
  const noHelper = { PAWWORK_SUPERVISOR_HELPER: "0" }
  // In the fallback nothing outside the host can act on its death; a normal exit (and an
  // uncaught exception, which emits 'exit' too) kills every running tree synchronously.
  // Before, trees started in fallback mode — also the first spawns while a new helper was
  // still starting on a loaded machine — outlived process.exit().
  it.each([
    ["process.exit(0)", "process.exit(0)"],
    ["an uncaught exception", "throw new Error('host crash')"],
  ])("%s kills the whole tree", async (_, how) => {
    const { pids, code } = await treeOfDeadHost(node, how, noHelper)
    try {
      expect(pids).toHaveLength(4)
      expect(code).not.toBe(null)
      await waitFor(() => !pids.some(alive), 2000, `tree of a helperless host ended by ${how} gone; alive: ${pids.filter(alive)}`)
    } finally {
      killAll(pids)
    }
  })

  // The limit the README states: without the helper, SIGKILL of the host leaves its trees.
  it.fails("SIGKILL of the host leaves the tree running (no helper to notice)", async () => {
    const { pids, signal } = await treeOfDeadHost(node, "process.kill(process.pid, 'SIGKILL')", noHelper)
    try {
      expect(signal).toBe("SIGKILL")
      await waitFor(() => !pids.some(alive), 2000, "tree of a SIGKILLed helperless host gone")
    } finally {
      killAll(pids)
    }
  })
})
