// supervise({ forwardSignals: true }): SIGINT/SIGTERM delivered to the host reach every
// forwarding tree as a graceful cancel (that signal first, SIGKILL after the grace), and
// the host otherwise behaves as Node does: with no listener of its own it still dies by
// that signal (after its trees ended); with one, the application decides. The listener
// exists only while such a tree lives. Each case runs a real host in a child Node process.
import { spawn } from "node:child_process"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { alive, leakCheck, pidsFrom, waitFor, within } from "./helpers"

leakCheck()

const ROOT = path.resolve(__dirname, "..")

// A tree whose members print which signal reached them: the leader and one member trap
// TERM and INT (and then exit), one more member ignores both (only the ladder's SIGKILL
// ends it). Each prints "pid <role> <pid>"; the leader prints "ready" last.
const TREE = `
  sh -c 'trap "echo member-got-TERM; exit 0" TERM; trap "echo member-got-INT; exit 0" INT; echo "pid member $$"; while :; do sleep 0.05; done' &
  sh -c 'trap "" TERM INT; echo "pid stubborn $$"; while :; do sleep 0.05; done' &
  trap "echo leader-got-TERM; exit 0" TERM
  trap "echo leader-got-INT; exit 0" INT
  sleep 0.2
  echo "pid leader $$"
  echo ready
  while :; do sleep 0.05; done`

interface Host {
  pid: number
  out: () => string
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

function host(body: string): Host {
  const script = `
    const { supervise } = require(${JSON.stringify(ROOT)})
    const before = process.listenerCount("SIGINT") + "/" + process.listenerCount("SIGTERM")
    ${body}`
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "pipe"] })
  let out = ""
  child.stdout.on("data", (c) => (out += c))
  child.stderr.on("data", (c) => (out += c))
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })))
  return { pid: child.pid!, out: () => out, exit }
}

const START_TREE = `
    const c = supervise(["/bin/sh", "-c", ${JSON.stringify(TREE)}], { stdout: "pipe", graceMs: 300, forwardSignals: true })
    c.stdout.on("data", (d) => process.stdout.write(d))
    c.outcome.then((o) => console.log("outcome " + o.reason + " " + o.signal + " listeners " + before + " -> " + process.listenerCount("SIGINT") + "/" + process.listenerCount("SIGTERM")))`

describe("forwardSignals", () => {
  it.each(["SIGTERM", "SIGINT"] as const)("forwards %s to the tree, then the host dies by it as Node's default would", async (sig) => {
    const h = host(START_TREE + `\n    setInterval(() => {}, 1000)`)
    await waitFor(() => h.out().includes("ready\n"), 10_000, `host ready (${h.out()})`)
    const pids = pidsFrom(h.out())
    expect(pids).toHaveLength(3)
    process.kill(h.pid, sig)
    const r = await within(h.exit, 10_000, "host exit")
    const short = sig.slice(3)
    expect(h.out()).toContain(`leader-got-${short}`)
    // A background job of a non-interactive sh starts with SIGINT ignored (POSIX), so only
    // SIGTERM can be seen by the member's trap; for SIGINT the ladder's SIGKILL ends it.
    if (sig === "SIGTERM") expect(h.out()).toContain("member-got-TERM")
    // The ladder ran to its end before the host went: the stubborn member got SIGKILL.
    expect(h.out()).toMatch(/outcome host /)
    expect(r).toEqual({ code: null, signal: sig })
    await waitFor(() => !pids.some(alive), 3000, "tree gone")
  })

  it("leaves the host alone when the application listens for the signal itself", async () => {
    const h = host(
      START_TREE +
        `
    process.on("SIGTERM", () => console.log("app-got-TERM"))
    c.outcome.then(() => setTimeout(() => { console.log("still-alive"); process.exit(7) }, 300))
    setInterval(() => {}, 1000)`,
    )
    await waitFor(() => h.out().includes("ready\n"), 10_000, "host ready")
    const pids = pidsFrom(h.out())
    process.kill(h.pid, "SIGTERM")
    const r = await within(h.exit, 10_000, "host exit")
    expect(h.out()).toContain("app-got-TERM")
    expect(h.out()).toContain("leader-got-TERM")
    expect(h.out()).toContain("still-alive")
    expect(r).toEqual({ code: 7, signal: null })
    expect(pids.some(alive)).toBe(false)
  })

  it("installs its listeners only while a forwarding tree lives, and Node exits by itself", async () => {
    const h = host(`
    const n = () => process.listenerCount("SIGINT") + "/" + process.listenerCount("SIGTERM")
    const plain = supervise(["/bin/true"])
    console.log("plain " + n())
    plain.outcome.then(() => {
      const c = supervise(["/bin/sh", "-c", "sleep 0.2"], { forwardSignals: true })
      const d = supervise(["/bin/sh", "-c", "sleep 0.4"], { forwardSignals: true })
      console.log("two " + n())
      c.outcome.then(() => console.log("one " + n()))
      d.outcome.then(() => console.log("none " + n()))
    })`)
    const r = await within(h.exit, 10_000, "host exit")
    expect(h.out()).toBe("plain 0/0\ntwo 1/1\none 1/1\nnone 0/0\n")
    expect(r).toEqual({ code: 0, signal: null })
  })

  it("rejects a non-boolean forwardSignals like Node's validators", async () => {
    const { supervise } = await import("../lib/index")
    expect(() => supervise(["/bin/true"], { forwardSignals: "yes" as unknown as boolean })).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARG_TYPE" }),
    )
  })
})
