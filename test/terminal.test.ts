// Issue 13: terminal sessions (spawnTerminal), on real pseudo-terminals. Each bound
// below is a hang detector, not a measurement (scripts/bench-terminal.js measures).
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { EV_EXIT, PWS_EINVAL, REASON_STOP, loadAddon } from "../lib/addon"
import { spawnTerminal, type TerminalSession } from "../lib/index"
import { alive, fixture, killAll, leakCheck, ourProcesses, pidsFrom, waitFor, within } from "./helpers"
import { ROOT, runNode } from "./native-helpers"

leakCheck()

const ENV = { PATH: "/usr/bin:/bin", PS1: "prompt$ " }

function comm(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim()
  } catch {
    return ""
  }
}

/** The session's output as text so far (\r\n as the terminal sends it). */
function collect(t: TerminalSession) {
  let text = ""
  t.output.on("data", (b: Buffer) => (text += b.toString("latin1")))
  return {
    get text() {
      return text
    },
    until: (needle: string | RegExp, from = 0, ms = 10_000) =>
      waitFor(() => (typeof needle === "string" ? text.slice(from).includes(needle) : needle.test(text.slice(from))), ms, `${needle} in ${JSON.stringify(text.slice(-300))}`),
  }
}

describe("a terminal session", () => {
  it("stty size reports the requested size and follows resize; SIGWINCH reaches the foreground group", async () => {
    const t = spawnTerminal(["sh", "-c", `stty size; trap 'echo winch; stty size' WINCH; echo ready; while :; do sleep 0.05; done`], { rows: 33, cols: 111, env: ENV })
    const out = collect(t)
    await out.until("ready")
    expect(out.text).toContain("33 111\r\n")
    const mark = out.text.length
    t.resize(50, 132)
    expect([t.rows, t.cols]).toEqual([50, 132])
    await out.until("winch\r\n50 132\r\n", mark)
    const o = await within(t.terminate({ graceMs: 1000 }), 10_000, "terminate")
    expect(o.reason).toBe("stop")
    expect(() => t.resize(10, 10)).toThrow(/ended/)
    expect(() => t.resize(0, 10)).toThrow(/out of range/)
  })

  it("tty inside is a terminal, the controlling one of a session the leader leads", async () => {
    const t = spawnTerminal(["sh", "-c", "tty; test -t 0 && test -t 1 && test -t 2 && echo all-ttys; ps -o sid=,tty= -p $$"], { env: ENV })
    const out = collect(t)
    const o = await within(t.outcome, 10_000, "outcome")
    expect(o.code).toBe(0)
    expect(o.errors).toEqual([])
    const tty = /^(\/dev\/pts\/\d+)\r$/m.exec(out.text)?.[1]
    expect(tty, out.text).toBeDefined()
    expect(out.text).toContain("all-ttys\r\n")
    expect(out.text).toMatch(new RegExp(`^\\s*${t.pid}\\s+${tty!.slice(5)}\\s*\\r$`, "m")) // session id = the leader; ps's tty = ours
  })

  for (const shell of [["sh", "-i"], ["bash", "--norc", "--noprofile", "-i"]]) {
    it(`${shell[0]} -i: the prompt reports input-waiting; sleep 30 from it is the foreground group; SIGINT returns to the prompt`, async () => {
      const t = spawnTerminal(shell, { env: ENV })
      const out = collect(t)
      await out.until("prompt$ ")
      await waitFor(() => t.foreground()?.inputWaiting === true, 5000, "the shell waiting for input")
      const atPrompt = t.foreground()!
      expect(atPrompt.processGroupId).toBe(t.pid)
      expect(atPrompt.waiting).toEqual([t.pid])
      expect(atPrompt.proof).toBe("procfs")

      await t.write("sleep 30\n")
      // The job's group is the foreground one once the shell's fork took it, but until
      // that fork has exec'd sleep it still handles SIGINT as the shell did: wait for sleep.
      await waitFor(() => {
        const f = t.foreground()
        return !!f && f.processGroupId !== t.pid && f.members.length === 1 && comm(f.members[0]) === "sleep"
      }, 5000, "sleep in the foreground")
      const job = t.foreground()!
      expect(job.members).toEqual([job.processGroupId]) // sleep leads its own group
      expect(job.inputWaiting).toBe(false)
      const mark = out.text.length
      const sent = t.signalForeground("SIGINT")
      expect(sent).toEqual({ processGroupId: job.processGroupId, reached: [job.processGroupId] })
      await out.until("prompt$ ", mark)
      await waitFor(() => t.foreground()?.processGroupId === t.pid && t.foreground()!.inputWaiting, 5000, "back at the prompt, waiting")
      expect(alive(job.processGroupId)).toBe(false)

      await t.write("exit 0\n")
      const o = await within(t.outcome, 10_000, "outcome")
      expect(o.code).toBe(0)
      expect(t.foreground()).toBeUndefined()
      expect(t.signalForeground("SIGINT")).toEqual({ processGroupId: 0, reached: [] })
      t.write("unawaited after the end\n") // must not become an unhandled rejection
      await expect(t.write("x")).rejects.toMatchObject({ code: "EPIPE" })
    })
  }

  it("a setsid escaper and a double-forked daemon started inside are gone once terminate() resolves", async () => {
    const t = spawnTerminal(["sh", "-i"], { env: ENV })
    const out = collect(t)
    await out.until("prompt$ ")
    // (setsid(1) forks when it leads a group, as a job of an interactive shell does: the
    // escaper reports its own pid.)
    await t.write(`setsid sh -c 'echo "pid escaper $$"; exec sleep 1000' &\n`)
    await t.write(`setsid sh -c 'env -i /bin/sh -c "echo \\"pid daemon \\$\\$\\"; exec sleep 1000" & exit 0'\n`)
    await out.until(/pid escaper \d+[\s\S]*pid daemon \d+|pid daemon \d+[\s\S]*pid escaper \d+/)
    const pids = [...out.text.matchAll(/pid (?:escaper|daemon) (\d+)/g)].map((m) => Number(m[1]))
    expect(pids).toHaveLength(2)
    expect(pids.every(alive)).toBe(true)
    try {
      const o = await within(t.terminate(), 15_000, "terminate")
      expect(o.reason).toBe("stop")
      expect(o.containment).toMatch(/^helper/)
      expect(o.errors).toEqual([])
      expect(pids.filter(alive)).toEqual([]) // at once: terminate() resolved only after the session was quiescent
    } finally {
      killAll(pids)
    }
  })

  it("host SIGKILL with five terminal sessions open: nothing of them alive within a second", async () => {
    const r = await runNode(process.execPath, [fixture("terminal-host.js"), ROOT, ""], { boundMs: 30_000 })
    const pids = pidsFrom(r.stdout)
    try {
      expect(/^mode (\w+)$/m.exec(r.stdout)?.[1]).toBe("helper")
      expect(r.signal, r.stdout + r.stderr).toBe("SIGKILL")
      expect(pids.length).toBe(5 * 4) // shell, escaper, daemon, foreground job per session
      await waitFor(() => !pids.some(alive), 1000, "the sessions of the dead host gone").catch(() => undefined)
      expect(pids.filter(alive)).toEqual([])
    } finally {
      killAll([...pids, ...ourProcesses()])
    }
  })
})

describe("without the helper (fallback containment)", () => {
  // As for piped trees (containment-host.test.ts): nothing is left to kill the sessions
  // when the host dies by SIGKILL. Pinned: the fallback's limit holds for terminals too.
  it.fails("host SIGKILL with five terminal sessions: they survive", async () => {
    const r = await runNode(process.execPath, [fixture("terminal-host.js"), ROOT, "0"], { boundMs: 30_000 })
    const pids = pidsFrom(r.stdout)
    try {
      expect(/^mode (\w+)$/m.exec(r.stdout)?.[1]).toBe("fallback")
      expect(r.signal).toBe("SIGKILL")
      await waitFor(() => !pids.some(alive), 1000, "the sessions of the dead host gone").catch(() => undefined)
      expect(pids.filter(alive)).toEqual([])
    } finally {
      killAll([...pids, ...ourProcesses()])
      await waitFor(() => ourProcesses().length === 0, 3000, "fallback survivors cleaned up").catch(() => undefined)
      killAll(ourProcesses())
    }
  })
})

describe("terminal output", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pws-terminal-"))
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

  it("200 MB through cat on a raw terminal arrive byte-exact", async () => {
    const file = path.join(dir, "200mb")
    const want = crypto.createHash("sha256")
    const fd = fs.openSync(file, "w")
    const block = crypto.randomBytes(1 << 20)
    for (let i = 0; i < 200; i++) {
      block[0] = i // 200 different MiB
      fs.writeSync(fd, block)
      want.update(block)
    }
    fs.closeSync(fd)
    // Raw: no output processing (ONLCR would turn each \n into \r\n), so the bytes are the file's.
    const t = spawnTerminal(["sh", "-c", `stty raw -echo && exec cat "$0"`, file], { env: ENV })
    const got = crypto.createHash("sha256")
    let bytes = 0
    t.output.on("data", (b: Buffer) => {
      bytes += b.length
      got.update(b)
    })
    const ended = new Promise((r) => t.output.once("end", r))
    const o = await within(t.outcome, 60_000, "200 MB through the terminal")
    await within(ended, 5000, "output end")
    expect(o.code).toBe(0)
    expect(o.truncated).toBe(false)
    expect(bytes).toBe(200 << 20)
    expect(o.stdoutBytes).toBe(200 << 20)
    expect(got.digest("hex")).toBe(want.digest("hex"))
  }, 90_000)

  it("utf8: a character is never split across chunks", async () => {
    // 3-byte characters written 1 byte at a time, 100 µs apart: the reads cut them anywhere.
    const t = spawnTerminal(["sh", "-c", `stty raw -echo; i=0; while [ $i -lt 200 ]; do printf '\\342'; printf '\\202'; printf '\\254'; i=$((i+1)); done`], { env: ENV, encoding: "utf8" })
    const chunks: string[] = []
    t.output.on("data", (s: string) => chunks.push(s))
    await within(t.outcome, 20_000, "outcome")
    await waitFor(() => t.output.readableEnded, 5000, "end")
    expect(chunks.join("")).toBe("€".repeat(200))
    expect(chunks.every((c) => !c.includes("\ufffd"))).toBe(true)
  })
})

describe("many terminals", () => {
  it("100 terminals open at once: the host's threads do not grow per terminal", async () => {
    const threads = () => fs.readdirSync("/proc/self/task").length
    const warm = spawnTerminal(["true"], { env: ENV })
    await warm.outcome
    const before = threads()
    const sessions = Array.from({ length: 100 }, () => spawnTerminal(["sh", "-c", "echo up; read x"], { env: ENV }))
    try {
      const outs = sessions.map(collect)
      await waitFor(() => outs.every((o) => o.text.includes("up")), 20_000, "100 sessions up")
      const during = threads()
      expect(during - before, `threads ${before} → ${during}`).toBeLessThan(10)
      await Promise.all(sessions.map((s) => s.write("bye\n")))
      const outcomes = await within(Promise.all(sessions.map((s) => s.outcome)), 20_000, "100 outcomes")
      // Every session ended by itself, cleanly, without a note: 100 leaders exiting at once
      // make 100 reap requests, which the helper answers after one shared sweep (before, one
      // /proc scan per request let the core's 2 s confirmation bound fire under load).
      expect(outcomes.filter((o) => o.code !== 0 || o.errors.length > 0)).toEqual([])
    } finally {
      await Promise.all(sessions.map((s) => s.terminate({ graceMs: 0 })))
    }
  })
})

describe("the native calls (pws_resize, pws_foreground, pws_signal_foreground)", () => {
  type T = { resize(r: number, c: number): number; foreground(): unknown; signalForeground(s: number): unknown; cancel(r: number, s: number, g: number): number }
  function start(request: object) {
    const addon = loadAddon()
    let exited!: () => void
    const done = new Promise<void>((r) => (exited = r))
    const c = new addon.Child(Buffer.from(JSON.stringify(request)), (type) => type === EV_EXIT && exited()) as unknown as T
    return { c, done }
  }

  it("refuse a child that is not a terminal session, sizes and signals out of range", async () => {
    const piped = start({ argv: ["sleep", "5"] })
    expect(piped.c.resize(10, 10)).toBe(PWS_EINVAL)
    expect(piped.c.foreground()).toBe(PWS_EINVAL)
    expect(piped.c.signalForeground(2)).toBe(PWS_EINVAL)
    piped.c.cancel(REASON_STOP, 9, 0)
    const term = start({ argv: ["sleep", "5"], terminal: { rows: 24, cols: 80 } })
    for (const [r, c] of [[0, 10], [10, 0], [65536, 10], [10, -1]]) expect(term.c.resize(r, c)).toBe(PWS_EINVAL)
    expect(term.c.resize(65535, 65535)).toBe(0)
    expect(term.c.signalForeground(0)).toBe(PWS_EINVAL)
    expect(term.c.signalForeground(65)).toBe(PWS_EINVAL)
    term.c.cancel(REASON_STOP, 9, 0)
    await within(Promise.all([piped.done, term.done]), 10_000, "both ended")
    expect(() => start({ argv: ["true"], terminal: { rows: 24, cols: 80 }, stdout: "pipe" })).toThrow(/leave them unset/)
    expect(() => start({ argv: ["true"], terminal: { rows: 0, cols: 80 } })).toThrow(/out of range/)
  })
})

describe("arguments", () => {
  it("refuses unknown options and sizes out of range", () => {
    expect(() => spawnTerminal(["sh"], { rowz: 3 } as never)).toThrow(/did you mean "rows"/)
    expect(() => spawnTerminal(["sh"], { cols: 70000 })).toThrow(/out of range/)
  })
})
