// The pawwork-supervise command (lib/cli.ts, dist/cli.js), run as a real process: exit
// codes by coreutils timeout's rules, --json, the host's signals forwarded to the whole
// tree (escapers included), a timeout that takes the escapers with it, and the CLI
// SIGKILLed: the helper takes the tree down.
import { spawn, spawnSync, type ChildProcess } from "node:child_process"
import path from "node:path"
import { constants as osConstants } from "node:os"
import { describe, expect, it } from "vitest"
import { exitCodeOf, parseArgs, parseDuration } from "../lib/cli"
import { containment } from "../lib/index"
import { alive, fixture, leakCheck, pidsFrom, waitFor, within } from "./helpers"

const leftovers: number[] = []
leakCheck(() => leftovers)

const CLI = path.resolve(__dirname, "..", "dist", "cli.js")

function cliSync(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 30_000 })
}

/** The CLI running in the background, its stdout collected. */
function cliBg(args: string[]): { proc: ChildProcess; out: () => string; err: () => string; exit: Promise<[number | null, NodeJS.Signals | null]> } {
  const proc = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] })
  let out = ""
  let err = ""
  proc.stdout!.on("data", (b: Buffer) => (out += b))
  proc.stderr!.on("data", (b: Buffer) => (err += b))
  const exit = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => proc.once("close", (c, s) => resolve([c, s])))
  return { proc, out: () => out, err: () => err, exit }
}

describe("arguments", () => {
  it("durations: bare seconds, ms, s, m, h", () => {
    expect([parseDuration("10", "--timeout"), parseDuration("1.5s", "-"), parseDuration("500ms", "-"), parseDuration("2m", "-"), parseDuration("1h", "-")]).toEqual([10_000, 1500, 500, 120_000, 3_600_000])
    expect(() => parseDuration("10x", "--timeout")).toThrow(/not a duration/)
  })

  it("flags, then -- and the command (whose own flags are left alone)", () => {
    expect(parseArgs(["--timeout", "1s", "--grace=2s", "--kill-tree-on-exit", "--json", "--", "ls", "-l", "--", "x"])).toEqual({ timeoutMs: 1000, graceMs: 2000, killTreeOnExit: true, json: true, cmd: ["ls", "-l", "--", "x"] })
    expect(parseArgs(["echo", "--json"]).cmd).toEqual(["echo", "--json"])
  })

  it("exit codes: the code, 124 on timeout, 128+n on signal n", () => {
    const base = { pid: 1, stdoutBytes: 0, stderrBytes: 0, truncated: false, leftovers: [], durationMs: 0, phases: { runMs: 0, graceMs: 0, killMs: 0, drainMs: 0 }, errors: [], containment: "" }
    expect(exitCodeOf({ ...base, code: 7, signal: null, reason: "exit" })).toBe(7)
    expect(exitCodeOf({ ...base, code: null, signal: "SIGKILL", reason: "timeout" })).toBe(124)
    expect(exitCodeOf({ ...base, code: null, signal: "SIGTERM", reason: "stop" })).toBe(128 + osConstants.signals.SIGTERM)
  })
})

describe("pawwork-supervise as a process", () => {
  it("exits with the command's code, its output its own", () => {
    const r = cliSync(["--", "sh", "-c", "echo out; echo err >&2; exit 3"])
    expect([r.status, r.stdout, r.stderr]).toEqual([3, "out\n", "err\n"])
  })

  it("usage errors exit 125, a missing command 127, a command that cannot run 126", () => {
    expect(cliSync(["--bogus", "--", "true"]).status).toBe(125)
    expect(cliSync([]).status).toBe(125)
    const huge = cliSync(["--timeout", "99999999999h", "--", "true"])
    expect([huge.status, huge.stderr.includes("out of range")]).toEqual([125, true])
    expect(cliSync(["--", "pws-no-such-command-xyz"]).status).toBe(127)
    expect(cliSync(["--", "/etc/passwd"]).status).toBe(126)
  })

  it("--json prints the outcome on stderr", () => {
    const r = cliSync(["--json", "--", "sh", "-c", "exit 4"])
    expect(r.status).toBe(4)
    const o = JSON.parse(r.stderr.trim().split("\n").pop()!)
    expect([o.reason, o.code, typeof o.containment]).toEqual(["exit", 4, "string"])
  })

  it("--timeout: exit 124, and the tree is gone, a setsid escaper included", async () => {
    const c = cliBg(["--timeout", "2s", "--grace", "200ms", "--json", "--", "sh", fixture("setsid-escaper.sh")])
    await waitFor(() => c.out().includes("ready"), 15_000, "tree ready")
    const pids = pidsFrom(c.out())
    leftovers.push(...pids)
    expect(pids.length).toBe(1)
    const [code] = await within(c.exit, 20_000, "the CLI's exit")
    expect(code).toBe(124)
    expect(JSON.parse(c.err().trim().split("\n").pop()!).reason).toBe("timeout")
    await waitFor(() => !pids.some(alive), 5000, "escaper gone")
  })

  it.each(["SIGTERM", "SIGINT", "SIGHUP"] as const)("%s to the CLI goes to the whole tree; exit 128+n", async (sig) => {
    const c = cliBg(["--grace", "500ms", "--", fixture("spawn-tree.sh")])
    await waitFor(() => c.out().includes("ready"), 15_000, "tree ready")
    const pids = pidsFrom(c.out())
    leftovers.push(...pids)
    expect(pids.length).toBe(4)
    c.proc.kill(sig)
    const [code, signal] = await within(c.exit, 20_000, "the CLI's exit")
    expect(signal).toBeNull()
    // The leader (sh) dies by the forwarded signal.
    expect(code).toBe(128 + osConstants.signals[sig])
    await waitFor(() => !pids.some(alive), 5000, "tree gone")
  })

  it("a second signal does not wait out the grace: SIGKILL to every member at once", async () => {
    const c = cliBg(["--grace", "60s", "--", "sh", "-c", "trap '' INT TERM; echo \"pid root $$\"; echo ready; while :; do sleep 0.1; done"])
    await waitFor(() => c.out().includes("ready"), 15_000, "tree ready")
    const pids = pidsFrom(c.out())
    leftovers.push(...pids)
    c.proc.kill("SIGINT")
    await new Promise((r) => setTimeout(r, 300))
    expect(pids.every(alive)).toBe(true) // SIGINT ignored: the grace (60 s) runs
    c.proc.kill("SIGINT")
    const [code] = await within(c.exit, 20_000, "the CLI's exit (well before the 60 s grace)")
    expect(code).toBe(128 + osConstants.signals.SIGKILL)
  })

  it("--kill-tree-on-exit: what the leader leaves behind is killed; without it, let go", async () => {
    const script = "sleep 300 >/dev/null 2>&1 & echo \"pid left $!\"; exit 0"
    const r = cliSync(["--kill-tree-on-exit", "--", "sh", "-c", script])
    expect(r.status).toBe(0)
    const killed = pidsFrom(r.stdout)
    leftovers.push(...killed)
    await waitFor(() => !killed.some(alive), 5000, "leftover killed")
    const r2 = cliSync(["--", "sh", "-c", script])
    const kept = pidsFrom(r2.stdout)
    leftovers.push(...kept)
    expect(r2.status).toBe(0)
    expect(kept.every(alive)).toBe(true)
  })

  // Only the helper survives its host's SIGKILL; the fallback (no helper) cannot clean up
  // after a host that died without running any code.
  const helper = containment().mode === "helper"
  it.runIf(helper)("the CLI SIGKILLed: its helper kills the tree (a double-forked daemon included)", async () => {
    const c = cliBg(["--", "sh", fixture("double-fork-daemon.sh")])
    await waitFor(() => c.out().includes("ready"), 15_000, "tree ready")
    const pids = pidsFrom(c.out())
    leftovers.push(...pids)
    expect(pids.length).toBe(1)
    c.proc.kill("SIGKILL")
    await within(c.exit, 10_000, "the CLI's death")
    await waitFor(() => !pids.some(alive), 10_000, "tree gone after the host's SIGKILL")
  })
})
