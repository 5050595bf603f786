// pawwork-supervisor/dsh: the DeepSeek Harness subprocess seam served by the supervisor,
// loaded as PawWork loads a provider — through a real cordis Context (`await
// ctx.plugin(...)`) — and driven only through `ctx.subprocess`, the seam's types.
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Context } from "@deepseek-ai/cordis"
import type { SubprocessHandle, SubprocessSpawnSpec } from "@deepseek-ai/dsh-subprocess"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import SupervisorSubprocessRuntime from "../lib/dsh/index.mts"
import { alive, killAll, leakCheck, ourProcesses, waitFor, within } from "./helpers"
import { ROOT, runNode } from "./native-helpers"
import { containment } from "../lib/index"

leakCheck()

let ctx: Context
let fiber: { dispose(): Promise<unknown> }
const started: number[] = []

beforeAll(async () => {
  ctx = new Context()
  fiber = (await ctx.plugin(SupervisorSubprocessRuntime)) as unknown as typeof fiber
})
afterAll(async () => {
  await fiber?.dispose()
  // Only what still carries this run's marker: a pid of ours that is gone may be re-used.
  const ours = new Set(ourProcesses())
  killAll(started.filter((p) => ours.has(p)))
})

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "pws-dsh-test-"))
afterAll(() => fs.rmSync(TMP, { recursive: true, force: true }))
// This worker's own spill directory: the provider removes it at a normal exit, but vitest
// ends its workers with a signal, which runs no exit handler. Emptied by the tests above.
afterAll(() => {
  for (const name of fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith(`pawwork-dsh-${process.pid}-`))) {
    fs.rmdirSync(path.join(os.tmpdir(), name))
  }
})

function spec(argv: string[], over: Partial<SubprocessSpawnSpec> = {}): SubprocessSpawnSpec {
  return {
    argv,
    cwd: TMP,
    stdio: { stdin: "ignore", stdout: { maxBytes: 1 << 20 }, stderr: { maxBytes: 1 << 20 } },
    graceMs: 2000,
    ...over,
  }
}

function spawn(s: SubprocessSpawnSpec): SubprocessHandle {
  const h = ctx.subprocess.spawn(s)
  if (h.pid > 0) started.push(h.pid)
  return h
}

/** A daemon that leaves the session (setsid) and prints its pid on the leader's stdout, then lets it go. */
const DAEMON = "setsid sh -c 'echo pid=$$ >&3; exec sleep 30 >/dev/null 2>&1 3>&-' 3>&1 >/dev/null 2>&1 &"
const out = (h: SubprocessHandle) => h.collected.stdout!.readFrom(0).text
const err = (h: SubprocessHandle) => h.collected.stderr!.readFrom(0).text
/** Pids printed as "pid=N" by the scripts below. */
const printed = (text: string) => [...text.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]))
async function printedPids(h: SubprocessHandle, n: number): Promise<number[]> {
  await waitFor(() => printed(out(h)).length >= n, 10_000, `${n} pids printed`)
  const pids = printed(out(h))
  started.push(...pids)
  return pids
}

describe("spawn: output, exits, cwd, env", () => {
  it("registers as ctx.subprocess", () => {
    expect(ctx.subprocess).toBeInstanceOf(SupervisorSubprocessRuntime)
  })

  it("captures stdout and stderr, reports a non-zero exit in close vocabulary, runs in cwd", async () => {
    const h = spawn(spec(["sh", "-c", 'echo "out $(pwd)"; echo err >&2; exit 7']))
    expect(h.pid).toBeGreaterThan(0)
    expect(await within(h.done, 10_000, "done")).toEqual({ exitCode: 7, signal: null })
    expect(out(h)).toBe(`out ${fs.realpathSync(TMP)}\n`)
    expect(err(h)).toBe("err\n")
    expect(h.stdout).toBeUndefined()
    expect(h.stdin).toBeUndefined()
    expect(await within(h.waitForExit(), 10_000, "waitForExit")).toBe(true)
  })

  it("argv is never shell-interpreted", async () => {
    const h = spawn(spec(["echo", "$HOME", "a;b", "`x`"]))
    await within(h.done, 10_000, "done")
    expect(out(h)).toBe("$HOME a;b `x`\n")
  })

  it("'pipe' hands the raw streams over; 'inherit' and 'ignore' expose none", async () => {
    const h = spawn(spec(["sh", "-c", "cat; echo e >&2"], { stdio: { stdin: "pipe", stdout: "pipe", stderr: "inherit" } }))
    expect(h.stderr).toBeUndefined()
    expect(h.collected.stdout).toBeUndefined()
    const chunks: Buffer[] = []
    h.stdout!.on("data", (b: Buffer) => chunks.push(b))
    h.stdin!.end("raw bytes")
    await within(h.done, 10_000, "done")
    expect(Buffer.concat(chunks).toString()).toBe("raw bytes")
  })

  it("env merges onto scrubbedParentEnv: credentials and DSH_* scrubbed, explicit entries win, undefined removes", async () => {
    const saved = { ...process.env }
    Object.assign(process.env, { PWS_DSH_PLAIN: "plain", PWS_DSH_GONE: "ambient", PWS_DSH_API_KEY: "k", PWS_MY_TOKEN: "t", DSH_SESSION: "s", dsh_lower: "l" })
    try {
      const h = spawn(
        spec(["sh", "-c", "env | grep -i -E '^(PWS_DSH|PWS_MY|DSH_|dsh_)' | sort"], {
          env: { PWS_DSH_GONE: undefined, PWS_MY_TOKEN: "given", DSH_TURN: "3" },
        }),
      )
      await within(h.done, 10_000, "done")
      expect(out(h)).toBe("DSH_TURN=3\nPWS_DSH_PLAIN=plain\nPWS_MY_TOKEN=given\n")
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k]
    }
  })

  it("a failed spawn: pid -1, done rejects with Node's shape (spawn x ENOENT, code, errno, syscall, path, spawnargs)", async () => {
    const h = spawn(spec(["no-such-program-pws", "a", "b"]))
    expect(h.pid).toBe(-1)
    const e = (await h.done.then(() => undefined, (x) => x)) as NodeJS.ErrnoException & { spawnargs: string[] }
    expect(e).toBeInstanceOf(Error)
    expect(e.message).toBe("spawn no-such-program-pws ENOENT")
    expect(e).toMatchObject({ code: "ENOENT", errno: -2, syscall: "spawn no-such-program-pws", path: "no-such-program-pws", spawnargs: ["a", "b"] })
    expect(await within(h.waitForExit(), 5000, "waitForExit of a failed spawn")).toBe(true)
    h.terminate() // a no-op, never a throw
  })

  it("refuses a graceMs no Node timer can hold, and an empty argv", () => {
    expect(() => ctx.subprocess.spawn(spec(["true"], { graceMs: 0 }))).toThrow(/graceMs/)
    expect(() => ctx.subprocess.spawn(spec(["true"], { graceMs: 2 ** 31 }))).toThrow(/graceMs/)
    expect(() => ctx.subprocess.spawn(spec([]))).toThrow(/argv/)
  })
})

describe("stdin", () => {
  it("{ data } is written and then closed (EOF)", async () => {
    const h = spawn(spec(["sh", "-c", "cat; echo EOF"], { stdio: { stdin: { data: "hello\nworld" }, stdout: { maxBytes: 1000 }, stderr: { maxBytes: 100 } } }))
    expect(await within(h.done, 10_000, "done")).toEqual({ exitCode: 0, signal: null })
    expect(out(h)).toBe("hello\nworldEOF\n")
  })

  it("'ignore' is /dev/null: a reader sees EOF at once", async () => {
    const h = spawn(spec(["sh", "-c", "cat; echo done"]))
    await within(h.done, 10_000, "done")
    expect(out(h)).toBe("done\n")
  })

  it("EPIPE is contained: a leader that never reads 4 MiB of data", async () => {
    const h = spawn(spec(["true"], { stdio: { stdin: { data: "x".repeat(4 << 20) }, stdout: { maxBytes: 10 }, stderr: { maxBytes: 10 } } }))
    expect(await within(h.done, 10_000, "done")).toEqual({ exitCode: 0, signal: null })
  })
})

describe("collect mode", () => {
  const bytes = (n: number) => `head -c ${n} /dev/zero | tr '\\0' 'a'`

  it("caps are per stream and independent; an exact-cap stream is whole, not lossy, without a spill", async () => {
    const h = spawn(
      spec(["sh", "-c", `${bytes(1000)}; ${bytes(50)} >&2`], {
        stdio: { stdin: "ignore", stdout: { maxBytes: 1000, spill: { maxBytes: 5000 } }, stderr: { maxBytes: 10 } },
      }),
    )
    await within(h.done, 10_000, "done")
    const o = h.collected.stdout!.readFrom(0)
    expect(o).toEqual({ text: "a".repeat(1000), nextOffset: 1000, lossy: false })
    const e = h.collected.stderr!.readFrom(0)
    expect(e).toEqual({ text: "a".repeat(10), nextOffset: 50, lossy: true })
  })

  it("keeps a byte-exact tail across chunk boundaries, and spills the whole stream to a 0600 file in a 0700 directory", async () => {
    // 200 000 numbered lines, written in many chunks.
    const h = spawn(spec(["seq", "1", "200000"], { stdio: { stdin: "ignore", stdout: { maxBytes: 4099, spill: { maxBytes: 10 << 20 } }, stderr: { maxBytes: 100 } } }))
    await within(h.done, 20_000, "done")
    const full = Array.from({ length: 200000 }, (_, i) => `${i + 1}\n`).join("")
    const r = h.collected.stdout!.readFrom(0)
    expect(r.lossy).toBe(true)
    expect(r.nextOffset).toBe(full.length)
    expect(r.text).toBe(full.slice(-4099))
    expect(r.spillPath).toBeDefined()
    expect(fs.readFileSync(r.spillPath!, "utf8")).toBe(full)
    expect(fs.statSync(r.spillPath!).mode & 0o777).toBe(0o600)
    expect(fs.statSync(path.dirname(r.spillPath!)).mode & 0o777).toBe(0o700)
    // Offsets are non-consuming: any reader can read from any offset, again.
    expect(h.collected.stdout!.readFrom(full.length - 7)).toEqual({ text: full.slice(-7), nextOffset: full.length, lossy: false, spillPath: r.spillPath })
    expect(h.collected.stdout!.readFrom(full.length - 7).text).toBe(full.slice(-7))
    fs.unlinkSync(r.spillPath!)
  })

  it("a stream larger than the spill cap discards its incomplete spill; a stream of exactly the cap keeps it", async () => {
    const over = spawn(spec(["sh", "-c", bytes(3001)], { stdio: { stdin: "ignore", stdout: { maxBytes: 100, spill: { maxBytes: 3000 } }, stderr: { maxBytes: 100 } } }))
    const exact = spawn(spec(["sh", "-c", bytes(3000)], { stdio: { stdin: "ignore", stdout: { maxBytes: 100, spill: { maxBytes: 3000 } }, stderr: { maxBytes: 100 } } }))
    await within(Promise.all([over.done, exact.done]), 10_000, "done")
    const o = over.collected.stdout!.readFrom(0)
    expect(o).toEqual({ text: "a".repeat(100), nextOffset: 3001, lossy: true })
    const x = exact.collected.stdout!.readFrom(0)
    expect(x.lossy).toBe(true)
    expect(fs.readFileSync(x.spillPath!, "utf8")).toBe("a".repeat(3000))
    fs.unlinkSync(x.spillPath!)
  })

  // The spill directory is the host's; it goes when the host exits if nothing is left in it.
  // The stream comes in two parts: the first opens the spill, the second completes it or,
  // over the cap, discards it.
  const spillHost = (n: number) => `
    import { Context } from "@deepseek-ai/cordis"
    import Provider from ${JSON.stringify(path.join(ROOT, "dist/dsh/index.mjs"))}
    const ctx = new Context()
    await ctx.plugin(Provider)
    const h = ctx.subprocess.spawn({ argv: ["sh", "-c", ${JSON.stringify(`${bytes(200)}; sleep 0.2; ${bytes(n - 200)}`)}], cwd: "/tmp", stdio: { stdin: "ignore", stdout: { maxBytes: 100, spill: { maxBytes: 3000 } }, stderr: { maxBytes: 100 } }, graceMs: 2000 })
    await h.done
    console.log(JSON.stringify(h.collected.stdout.readFrom(0)))
  `
  for (const [what, n, kept] of [["every spill discarded: the empty directory is removed", 3001, false], ["a completed spill: it stays, and its directory", 3000, true]] as const) {
    it(`host exit with ${what}`, async () => {
      const dir = fs.mkdtempSync(path.join(TMP, "tmpdir-"))
      const r = await runNode(process.execPath, ["--input-type=module", "-e", spillHost(n)], { boundMs: 20_000, env: { TMPDIR: dir } })
      expect(r.code, r.stderr).toBe(0)
      const read = JSON.parse(r.stdout)
      expect(read.nextOffset).toBe(n)
      const left = fs.readdirSync(dir)
      if (!kept) {
        expect(read.spillPath).toBeUndefined()
        expect(left).toEqual([])
        return
      }
      expect(path.dirname(path.dirname(read.spillPath))).toBe(dir)
      expect(left).toEqual([path.basename(path.dirname(read.spillPath))])
      expect(fs.readFileSync(read.spillPath, "utf8")).toBe("a".repeat(3000))
    })
  }

  it("incremental reads before settlement: an offset that slid out of the tail is lossy", async () => {
    const h = spawn(spec(["sh", "-c", "echo first; read x; seq 1 2000; read y"], { stdio: { stdin: "pipe", stdout: { maxBytes: 100 }, stderr: { maxBytes: 100 } } }))
    await waitFor(() => out(h) === "first\n", 10_000, "first line")
    const a = h.collected.stdout!.readFrom(0)
    expect(a).toEqual({ text: "first\n", nextOffset: 6, lossy: false })
    h.stdin!.write("go\n")
    // Every number in: "first\n" and seq's 8893 bytes (waiting for part of them raced the rest).
    await waitFor(() => h.collected.stdout!.readFrom(0).nextOffset === 6 + 8893, 10_000, "the numbers")
    const b = h.collected.stdout!.readFrom(a.nextOffset)
    expect(b.lossy).toBe(true)
    expect(b.text.length).toBe(100)
    expect(b.text.endsWith("2000\n")).toBe(true)
    expect(h.collected.stdout!.readFrom(b.nextOffset)).toEqual({ text: "", nextOffset: b.nextOffset, lossy: false })
    h.stdin!.end("\n")
    await within(h.done, 10_000, "done")
  })
})

describe("termination", () => {
  it("the spec's signal: SIGTERM to the tree", async () => {
    const ac = new AbortController()
    const h = spawn(spec(["sleep", "30"], { signal: ac.signal }))
    await waitFor(() => alive(h.pid), 5000, "started")
    ac.abort()
    expect(await within(h.done, 10_000, "done")).toEqual({ exitCode: null, signal: "SIGTERM" })
    expect(await h.waitForExit()).toBe(true)
  })

  it("SIGKILL after graceMs when TERM is trapped; grandchildren killed; terminate idempotent", async () => {
    const h = spawn(spec(["sh", "-c", "trap '' TERM; sleep 30 & echo pid=$!; sleep 30 & echo pid=$!; wait"], { graceMs: 300 }))
    const pids = await printedPids(h, 2)
    h.terminate()
    h.terminate()
    expect(await within(h.done, 10_000, "done")).toEqual({ exitCode: null, signal: "SIGKILL" })
    expect(await within(h.waitForExit(), 10_000, "waitForExit")).toBe(true)
    for (const pid of [h.pid, ...pids]) expect(alive(pid), `pid ${pid}`).toBe(false)
    h.terminate() // once the tree is gone: a no-op
  })

  it("the drain of a pipe a descendant still holds is bounded by graceMs", async () => {
    // The background sleep inherits stdout: the pipe stays open after the leader's exit.
    const h = spawn(spec(["sh", "-c", "sleep 30 & echo pid=$!; echo leader done"], { graceMs: 400 }))
    const t0 = Date.now()
    expect(await within(h.done, 10_000, "done despite the held pipe")).toEqual({ exitCode: 0, signal: null })
    // Hang detector only (timing belongs in benchmarks): far below the sleep's 30 s.
    expect(Date.now() - t0).toBeLessThan(10_000)
    expect(out(h)).toContain("leader done\n")
    const [pid] = printed(out(h))
    started.push(pid)
    h.terminate()
    expect(await within(h.waitForExit(), 10_000, "waitForExit")).toBe(true)
    expect(alive(pid)).toBe(false)
  })

  it("a TERM-trapping descendant after the leader settled: a bounded waitForExit is false while it lives, terminate still kills it", async () => {
    const h = spawn(spec(["sh", "-c", "(trap '' TERM; exec sleep 30) >/dev/null 2>&1 & echo pid=$!"], { graceMs: 300 }))
    expect(await within(h.done, 10_000, "done")).toEqual({ exitCode: 0, signal: null })
    const [pid] = printed(out(h))
    started.push(pid)
    expect(alive(pid)).toBe(true)
    expect(await h.waitForExit(AbortSignal.timeout(300))).toBe(false)
    expect(alive(pid)).toBe(true)
    h.terminate()
    expect(await within(h.waitForExit(), 10_000, "waitForExit after terminate")).toBe(true)
    expect(alive(pid)).toBe(false)
    // Collected output stays readable after settlement.
    expect(out(h)).toBe(`pid=${pid}\n`)
  })

  it("a daemon that left the session (setsid) is still the handle's: terminate kills it", async () => {
    const h = spawn(spec(["sh", "-c", DAEMON], { graceMs: 300 }))
    await within(h.done, 10_000, "done")
    const [pid] = printed(out(h))
    started.push(pid)
    expect(alive(pid)).toBe(true)
    h.terminate()
    expect(await within(h.waitForExit(), 10_000, "waitForExit")).toBe(true)
    expect(alive(pid)).toBe(false)
  })
})

describe("resolveExecutable", () => {
  it("bare names on the scrubbed PATH, plus overrides; absolute verified; relative refused", async () => {
    const sub = ctx.subprocess
    expect(await sub.resolveExecutable("sh")).toMatch(/^\/.*\/sh$/)
    expect(await sub.resolveExecutable("/bin/sh")).toBe("/bin/sh")
    const bin = path.join(TMP, "bin")
    fs.mkdirSync(bin, { recursive: true })
    fs.writeFileSync(path.join(bin, "pws-tool"), "#!/bin/sh\n", { mode: 0o755 })
    fs.writeFileSync(path.join(bin, "pws-noexec"), "x", { mode: 0o644 })
    expect(await sub.resolveExecutable("pws-tool", { PATH: bin })).toBe(path.join(bin, "pws-tool"))
    await expect(sub.resolveExecutable("pws-tool")).rejects.toThrow('command "pws-tool" was not found on PATH')
    await expect(sub.resolveExecutable("pws-noexec", { PATH: bin })).rejects.toThrow("was not found on PATH")
    await expect(sub.resolveExecutable(path.join(bin, "pws-noexec"))).rejects.toThrow("is not an executable file")
    await expect(sub.resolveExecutable(bin)).rejects.toThrow("is not an executable file")
    await expect(sub.resolveExecutable("bin/pws-tool")).rejects.toThrow("is a relative path; use an absolute path or a bare PATH name")
    await expect(sub.resolveExecutable("")).rejects.toThrow("must be non-empty")
    await expect(sub.resolveExecutable("sh", undefined, AbortSignal.abort())).rejects.toThrow()
  })
})

describe("spawnTerminal", () => {
  it("output, write, inspectForeground, signalForeground, awaited terminate of the whole session", async () => {
    const t = await ctx.subprocess.spawnTerminal({ argv: ["sh"], cwd: TMP, env: { PS1: "$ " }, rows: 24, cols: 80, graceMs: 500 })
    started.push(t.pid)
    let text = ""
    t.output.on("data", (s: string) => (text += s))
    await t.write("echo hel''lo\n")
    await waitFor(() => text.includes("hello"), 10_000, "echo")
    const idle = await t.inspectForeground()
    expect(idle?.processGroupId).toBe(t.pid)
    await t.write("sleep 30 & echo pid=$!; sleep 31\n")
    await waitFor(() => /pid=\d+/.test(text), 10_000, "background pid")
    const bg = printed(text)[0]
    started.push(bg)
    let fg: number | undefined
    await waitFor(() => {
      void t.inspectForeground().then((f) => (fg = f?.processGroupId))
      return fg !== undefined && fg !== t.pid
    }, 10_000, "sleep 31 in the foreground")
    expect(await t.signalForeground("SIGINT")).toBe(fg)
    await waitFor(() => {
      void t.inspectForeground().then((f) => (fg = f?.processGroupId))
      return fg === t.pid
    }, 10_000, "the shell back in the foreground")
    await within(t.terminate(), 10_000, "terminate")
    await within(t.terminate(), 10_000, "terminate again")
    expect(alive(t.pid)).toBe(false)
    expect(alive(bg)).toBe(false)
    expect((await t.done).exitCode === null || typeof (await t.done).exitCode === "number").toBe(true)
  })
})

describe("spawnTerminal: the end of the top-level process", () => {
  it("output ends after the queued output when the top-level process exits; done has its exit; the env is scrubbed", async () => {
    process.env.PWS_DSH_TERM_SECRET = "s"
    try {
      const t = await ctx.subprocess.spawnTerminal({ argv: ["sh", "-c", 'echo "bye[$PWS_DSH_TERM_SECRET][$PWS_GIVEN]"; exit 4'], cwd: TMP, env: { PWS_GIVEN: "g" }, rows: 10, cols: 80, graceMs: 500 })
      started.push(t.pid)
      let text = ""
      t.output.on("data", (s: string) => (text += s))
      await within(new Promise((r) => t.output.once("end", r)), 10_000, "output end")
      expect(text).toContain("bye[][g]")
      expect(await within(t.done, 10_000, "done")).toEqual({ exitCode: 4, signal: null })
      await within(t.terminate(), 10_000, "terminate after the end")
      await expect(t.write("x")).rejects.toMatchObject({ code: "EPIPE" })
    } finally {
      delete process.env.PWS_DSH_TERM_SECRET
    }
  })
})

describe("disposal and the host's end", () => {
  it("disposal terminates every live handle and terminal and awaits their quiescence", async () => {
    const c2 = new Context()
    const f2 = (await c2.plugin(SupervisorSubprocessRuntime)) as unknown as { dispose(): Promise<unknown> }
    const h = c2.subprocess.spawn(spec(["sh", "-c", "trap '' TERM; (exec sleep 30) >/dev/null 2>&1 & echo pid=$!; sleep 30"], { graceMs: 300 }))
    started.push(h.pid)
    const t = await c2.subprocess.spawnTerminal({ argv: ["sleep", "30"], cwd: TMP, rows: 10, cols: 40, graceMs: 300 })
    started.push(t.pid)
    await waitFor(() => printed(out(h)).length === 1, 10_000, "pid")
    const [pid] = printed(out(h))
    started.push(pid)
    await within(f2.dispose(), 15_000, "dispose")
    for (const p of [h.pid, pid, t.pid]) expect(alive(p), `pid ${p}`).toBe(false)
    expect(await h.done).toEqual({ exitCode: null, signal: "SIGKILL" })
  })

  // A host that loads the provider through cordis, starts trees (one with a TERM-trapping
  // descendant, one with a daemon that left the session), prints their pids, then ends.
  const host = (end: string) => `
    import { Context } from "@deepseek-ai/cordis"
    import Provider from ${JSON.stringify(path.join(ROOT, "dist/dsh/index.mjs"))}
    const ctx = new Context()
    await ctx.plugin(Provider)
    const s = { cwd: "/tmp", stdio: { stdin: "ignore", stdout: { maxBytes: 1000 }, stderr: { maxBytes: 100 } }, graceMs: 5000 }
    const a = ctx.subprocess.spawn({ ...s, argv: ["sh", "-c", "(trap '' TERM; exec sleep 30) >/dev/null 2>&1 & echo pid=$!; sleep 30"] })
    const b = ctx.subprocess.spawn({ ...s, argv: ["sh", "-c", ${JSON.stringify(DAEMON)}] })
    const t = await ctx.subprocess.spawnTerminal({ argv: ["sleep", "30"], cwd: "/tmp", rows: 10, cols: 40, graceMs: 5000 })
    await b.done
    while (!/pid=/.test(a.collected.stdout.readFrom(0).text)) await new Promise((r) => setTimeout(r, 20))
    console.log([a.pid, b.pid, t.pid].map((p) => "pid=" + p).join(" "), a.collected.stdout.readFrom(0).text.trim(), b.collected.stdout.readFrom(0).text.trim())
    ${end}
    setTimeout(() => {}, 60000)
  `
  // Without the helper (PAWWORK_SUPERVISOR_HELPER=0, or where it cannot run) no JavaScript
  // runs at a default SIGTERM or a SIGKILL, and nothing else kills the trees: the stated
  // limit of fallback containment, declared as an expected failure there.
  const withHelper = containment().mode === "helper"
  const hostEnds: [string, string, boolean][] = [
    ["process.exit()", "process.exit(3)", true],
    ["an uncaught exception", "setTimeout(() => { throw new Error('boom') }, 0)", true],
    ["an unhandled rejection", "Promise.reject(new Error('boom'))", true],
    ["SIGTERM without a handler", "process.kill(process.pid, 'SIGTERM')", withHelper],
    ["SIGKILL", "process.kill(process.pid, 'SIGKILL')", withHelper],
  ]
  for (const [what, end, holds] of hostEnds) (holds ? it : it.fails)(`host ${what} with trees alive: nothing is left`, async () => {
    const before = new Set(ourProcesses())
    const r = await runNode(process.execPath, ["--input-type=module", "-e", host(end)], { boundMs: 20_000 })
    const pids = printed(r.stdout)
    try {
      expect(pids.length, r.stdout + r.stderr).toBe(5)
      await waitFor(() => !pids.some(alive), 5000, "every tree of the dead host gone")
      await waitFor(() => ourProcesses().every((p) => before.has(p)), 5000, "every process the host started gone")
    } finally {
      // Where this fails (it.fails without the helper): what is left carries this run's marker.
      killAll(ourProcesses().filter((p) => !before.has(p)))
    }
  })
})
