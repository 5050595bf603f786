// Bad input on the native supervisor: usage errors are synchronous, typed and coded like
// Node's; spawn failures are 'error' events and rejections shaped like Node's; none of
// them crashes the host or leaves an unhandled rejection.
import { spawn as nodeSpawn } from "node:child_process"
import { EventEmitter } from "node:events"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { supervise, type SupervisedChild, type SuperviseOptions } from "../lib/index"
import { leakCheck, markedEnv, sleep, thrown, within } from "./helpers"
import { ROOT, runNode } from "./native-helpers"

leakCheck()

const env = markedEnv()


interface Failure {
  err: NodeJS.ErrnoException & { spawnargs?: string[] }
  exited: NodeJS.ErrnoException
  outcome: NodeJS.ErrnoException
  events: string[]
  close: [number | null, string | null]
}

/** Spawns cmd expecting a spawn failure; collects the 'error', the rejections and 'close'. */
async function failure(cmd: string[], opts: SuperviseOptions = {}): Promise<Failure & { c: SupervisedChild }> {
  const c = supervise(cmd, { env, ...opts })
  const events: string[] = []
  const err = new Promise<Failure["err"]>((r) =>
    c.on("error", (e) => {
      events.push("error")
      r(e)
    }),
  )
  const close = new Promise<Failure["close"]>((r) =>
    c.on("close", (code, sig) => {
      events.push("close")
      r([code, sig])
    }),
  )
  c.on("exit", () => events.push("exit"))
  c.on("spawn", () => events.push("spawn"))
  const exited = await within(c.exited.then(() => new Error("resolved") as NodeJS.ErrnoException, (e) => e), 5000, "exited")
  const outcome = await within(c.outcome.then(() => new Error("resolved") as NodeJS.ErrnoException, (e) => e), 5000, "outcome")
  return { c, err: await within(err, 5000, "'error'"), exited, outcome, close: await within(close, 5000, "'close'"), events }
}

/** What Node's own child_process says for the same failure. */
function nodeFailure(cmd: string[], cwd?: string): Promise<NodeJS.ErrnoException & { spawnargs?: string[] }> {
  return new Promise((resolve) => nodeSpawn(cmd[0], cmd.slice(1), { cwd, stdio: "ignore" }).on("error", resolve))
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pws-errors-"))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

describe("usage errors are synchronous and typed", () => {
  it("a NUL byte in an argument: TypeError ERR_INVALID_ARG_VALUE", () => {
    const e = thrown(() => supervise(["echo", "a\0b"], { env }))
    expect(e).toBeInstanceOf(TypeError)
    expect(e.code).toBe("ERR_INVALID_ARG_VALUE")
    expect(e.message).toMatch(/null bytes/)
  })

  it("a NUL byte in the command, cwd or an env value: TypeError ERR_INVALID_ARG_VALUE", () => {
    for (const f of [
      () => supervise(["ec\0ho"], { env }),
      () => supervise(["true"], { cwd: "/tmp\0x", env }),
      () => supervise(["true"], { env: { ...env, BAD: "a\0b" } }),
    ]) {
      const e = thrown(f)
      expect(e).toBeInstanceOf(TypeError)
      expect(e.code).toBe("ERR_INVALID_ARG_VALUE")
    }
  })

  it("a non-string argv element: TypeError ERR_INVALID_ARG_TYPE", () => {
    for (const bad of [["echo", 1], ["echo", null], [undefined], ["echo", {}]]) {
      const e = thrown(() => supervise(bad as string[], { env }))
      expect(e).toBeInstanceOf(TypeError)
      expect(e.code).toBe("ERR_INVALID_ARG_TYPE")
    }
    const notArray = thrown(() => supervise("echo hi" as unknown as string[], { env }))
    expect(notArray).toBeInstanceOf(TypeError)
    expect(notArray.code).toBe("ERR_INVALID_ARG_TYPE")
  })

  it("an empty argv throws; an empty command is ERR_INVALID_ARG_VALUE", () => {
    expect(() => supervise([], { env })).toThrow(/Command is required/)
    const empty = thrown(() => supervise([], { env }))
    expect(empty).toBeInstanceOf(TypeError)
    expect(empty.code).toBe("ERR_INVALID_ARG_VALUE")
    const e = thrown(() => supervise([""], { env }))
    expect(e).toBeInstanceOf(TypeError)
    expect(e.code).toBe("ERR_INVALID_ARG_VALUE")
  })

  it("an already aborted signal: like child_process, the child is returned and the AbortError (ABORT_ERR) comes asynchronously; nothing is started", async () => {
    const ref = await new Promise<Error & { code?: string }>((resolve) => nodeSpawn("sleep", ["30"], { signal: AbortSignal.abort(), stdio: "ignore" }).on("error", resolve))
    let c!: SupervisedChild
    // Before the fix: a DOMException thrown synchronously.
    expect(() => (c = supervise(["sleep", "30"], { signal: AbortSignal.abort(), env }))).not.toThrow()
    expect(c).toBeInstanceOf(EventEmitter)
    const events: string[] = []
    const err = new Promise<Error & { code?: string }>((r) => c.on("error", (e) => (events.push("error"), r(e))))
    const close = new Promise<unknown[]>((r) => c.on("close", (...a) => (events.push("close"), r(a))))
    c.on("spawn", () => events.push("spawn"))
    c.on("exit", () => events.push("exit"))
    const e = await within(err, 5000, "'error'")
    expect(e.name).toBe(ref.name)
    expect(e.code).toBe(ref.code)
    expect(e.code).toBe("ABORT_ERR")
    expect(e).toBeInstanceOf(Error)
    expect(await within(c.exited.catch((x) => x), 5000, "exited")).toBe(e)
    expect(await within(c.outcome.catch((x) => x), 5000, "outcome")).toBe(e)
    await within(close, 5000, "'close'")
    expect(events).toEqual(["error", "close"])
    // Nothing was started: no pid (and a `sleep 30` started would fail this file's leakCheck).
    expect(c.pid).toBe(undefined)
  })

  it.each<[string, NodeJS.ProcessEnv]>([
    ["a key with '=' (would reach the child as A=B=x)", { "A=B": "x" }],
    ["an empty key", { "": "x" }],
    ["a key with a NUL byte", { "A\0B": "x" }],
  ])("env with %s: TypeError ERR_INVALID_ARG_VALUE", (_, bad) => {
    const e = thrown(() => supervise(["true"], { env: { ...env, ...bad } }))
    expect(e).toBeInstanceOf(TypeError)
    expect(e.code).toBe("ERR_INVALID_ARG_VALUE")
  })

  // One rule, Node's (validateInteger): a wrong type is ERR_INVALID_ARG_TYPE, any number
  // that is not an integer in range — 0.4 and 2**53 included — ERR_OUT_OF_RANGE.
  describe.each(["timeoutMs", "graceMs", "drainIdleMs", "drainMaxMs"] as const)("%s", (name) => {
    it.each<[string, unknown, "TypeError" | "RangeError", string]>([
      ["NaN", NaN, "RangeError", "ERR_OUT_OF_RANGE"],
      ["-1", -1, "RangeError", "ERR_OUT_OF_RANGE"],
      ["Infinity", Infinity, "RangeError", "ERR_OUT_OF_RANGE"],
      ["2**53", 2 ** 53, "RangeError", "ERR_OUT_OF_RANGE"],
      ["0.4 (was silently 0: no limit)", 0.4, "RangeError", "ERR_OUT_OF_RANGE"],
      ["'5'", "5", "TypeError", "ERR_INVALID_ARG_TYPE"],
      ["null", null, "TypeError", "ERR_INVALID_ARG_TYPE"],
    ])("%s → %s %s", (_, v, type, code) => {
      const e = thrown(() => supervise(["sleep", "30"], { env, [name]: v }))
      expect(e).toBeInstanceOf(type === "TypeError" ? TypeError : RangeError)
      expect(e.code).toBe(code)
      expect(e.message).toContain(name)
    })
  })

  it.each<[string, unknown, string]>([
    ["0 (was silently SIGTERM)", 0, "ERR_UNKNOWN_SIGNAL"],
    ["-1", -1, "ERR_UNKNOWN_SIGNAL"],
    ["65", 65, "ERR_UNKNOWN_SIGNAL"],
    ["40 (no name in Node)", 40, "ERR_UNKNOWN_SIGNAL"],
    ["'SIGFOO'", "SIGFOO", "ERR_UNKNOWN_SIGNAL"],
    ["1.5", 1.5, "ERR_UNKNOWN_SIGNAL"],
    ["{}", {}, "ERR_INVALID_ARG_TYPE"],
  ])("killSignal %s → TypeError %s, as child_process says", (_, v, code) => {
    const e = thrown(() => supervise(["sleep", "30"], { env, killSignal: v as number }))
    expect(e).toBeInstanceOf(TypeError)
    expect(e.code).toBe(code)
    if (code === "ERR_UNKNOWN_SIGNAL") expect(thrown(() => nodeSpawn("true", [], { killSignal: v as number })).code).toBe(code)
  })

  it("shell that is neither boolean nor string: TypeError ERR_INVALID_ARG_TYPE", () => {
    const e = thrown(() => supervise(["true"], { env, shell: 5 as never }))
    expect(e).toBeInstanceOf(TypeError)
    expect(e.code).toBe("ERR_INVALID_ARG_TYPE")
  })

  it.each<[string, "TypeError" | "RangeError", string, SuperviseOptions]>([
    ["stdin: bogus", "TypeError", "ERR_INVALID_ARG_VALUE", { stdin: "bogus" as never }],
    ["stdout: bogus", "TypeError", "ERR_INVALID_ARG_VALUE", { stdout: "bogus" as never }],
    ["stderr: bogus", "TypeError", "ERR_INVALID_ARG_VALUE", { stderr: "bogus" as never }],
    ['stderr: "stdout" without a piped stdout', "TypeError", "ERR_INVALID_ARG_VALUE", { stderr: "stdout" }],
    ["graceMs: -1", "RangeError", "ERR_OUT_OF_RANGE", { graceMs: -1 }],
    ["timeoutMs: NaN", "RangeError", "ERR_OUT_OF_RANGE", { timeoutMs: NaN }],
    ["timeoutMs: Infinity", "RangeError", "ERR_OUT_OF_RANGE", { timeoutMs: Infinity }],
    ["drainIdleMs: -5", "RangeError", "ERR_OUT_OF_RANGE", { drainIdleMs: -5 }],
    ["drainMaxMs: NaN", "RangeError", "ERR_OUT_OF_RANGE", { drainMaxMs: NaN }],
    ["killSignal: SIGNOPE", "TypeError", "ERR_UNKNOWN_SIGNAL", { killSignal: "SIGNOPE" as NodeJS.Signals }],
    ["killSignal: 99", "TypeError", "ERR_UNKNOWN_SIGNAL", { killSignal: 99 }],
    ["graceMs: '5'", "TypeError", "ERR_INVALID_ARG_TYPE", { graceMs: "5" as unknown as number }],
    ["cwd: 42", "TypeError", "ERR_INVALID_ARG_TYPE", { cwd: 42 as never }],
    ["signal: {}", "TypeError", "ERR_INVALID_ARG_TYPE", { signal: {} as never }],
    ["killTreeOnExit: yes", "TypeError", "ERR_INVALID_ARG_TYPE", { killTreeOnExit: "yes" as never }],
  ])("%s → synchronous %s %s", (_, type, code, opts) => {
    const e = thrown(() => supervise(["sleep", "30"], { env, ...opts }))
    expect(e).toBeInstanceOf(type === "TypeError" ? TypeError : RangeError)
    expect(e.code).toBe(code)
  })

  it("options that are not an object: TypeError ERR_INVALID_ARG_TYPE", () => {
    const e = thrown(() => supervise(["true"], null as never))
    expect(e).toBeInstanceOf(TypeError)
    expect(e.code).toBe("ERR_INVALID_ARG_TYPE")
  })

  it("bad arguments to kill() and cancel() on a running child throw and leave it running", async () => {
    const c = supervise(["sleep", "30"], { env })
    expect(thrown(() => c.kill("SIGNOPE" as NodeJS.Signals))).toBeInstanceOf(TypeError)
    expect(thrown(() => c.cancel({ graceMs: -5 }))).toBeInstanceOf(RangeError)
    expect(thrown(() => c.cancel({ signal: "SIGNOPE" as NodeJS.Signals }))).toBeInstanceOf(TypeError)
    expect(thrown(() => c.cancel({ graceMs: 0.4 })).code).toBe("ERR_OUT_OF_RANGE")
    expect(thrown(() => c.cancel({ signal: 0 })).code).toBe("ERR_UNKNOWN_SIGNAL")
    // kill(0) stays a probe, as ChildProcess.kill(0) is.
    expect(c.kill(0)).toBe(true)
    expect(c.exitCode).toBe(null)
    const o = await within(c.cancel(), 10_000, "cancel")
    expect(o.reason).toBe("stop")
  })
})

describe("command lookup", () => {
  it("a bare name is looked up in the child's PATH, not the host's", async () => {
    const dir = path.join(tmp, "bin")
    fs.mkdirSync(dir, { recursive: true })
    fs.writeFileSync(path.join(dir, "pws-only-here"), "#!/bin/sh\necho found\n", { mode: 0o755 })
    const c = supervise(["pws-only-here"], { env: { ...env, PATH: `${dir}:/usr/bin:/bin` }, stdout: "pipe" })
    let out = ""
    c.stdout!.on("data", (b) => (out += b))
    expect((await within(c.outcome, 10_000, "outcome")).code).toBe(0)
    expect(out).toBe("found\n")
  })

  it("with env: null (no PATH at all) a bare name is found on the default search path, as child_process does", async () => {
    // libuv (and execvp) fall back to a default path when PATH is unset; BASELINE's
    // `env: null` call sites (e.g. Process.text(["git", ...], { env: null })) rely on it.
    const ref = await new Promise<string>((resolve, reject) => {
      const p = nodeSpawn("echo", ["x"], { env: {}, stdio: ["ignore", "pipe", "ignore"] })
      let out = ""
      p.stdout.on("data", (b) => (out += b))
      p.on("error", reject)
      p.on("close", () => resolve(out))
    })
    expect(ref).toBe("x\n")
    const c = supervise(["echo", "x"], { env: null, stdout: "pipe" })
    c.on("error", () => {})
    let out = ""
    c.stdout!.on("data", (b) => (out += b))
    const r = await within(c.outcome.then((o) => ({ o, e: undefined }), (e: Error) => ({ o: undefined, e })), 10_000, "outcome")
    expect(r.e?.message, "spawn error").toBe(undefined)
    expect(r.o?.code).toBe(0)
    expect(out).toBe("x\n")
  })
})

describe("spawn failures are 'error' events and rejections, like Node's", () => {
  it("a missing command: 'error' ENOENT with Node's fields, rejected exited/outcome, then 'close'(-2)", async () => {
    const f = await failure(["pws-no-such-command-xyz", "a", "b"])
    const ref = await nodeFailure(["pws-no-such-command-xyz", "a", "b"])
    expect(f.c.pid).toBe(undefined)
    expect(f.err).toBeInstanceOf(Error)
    expect(f.err.code).toBe("ENOENT")
    expect(f.err.errno).toBe(-os.constants.errno.ENOENT)
    expect(f.err.syscall).toBe("spawn pws-no-such-command-xyz")
    expect(f.err.path).toBe("pws-no-such-command-xyz")
    expect(f.err.spawnargs).toEqual(["a", "b"])
    // Field for field what child_process says.
    expect({ code: f.err.code, errno: f.err.errno, syscall: f.err.syscall, path: f.err.path, spawnargs: f.err.spawnargs }).toEqual({
      code: ref.code,
      errno: ref.errno,
      syscall: ref.syscall,
      path: ref.path,
      spawnargs: ref.spawnargs,
    })
    expect(f.exited).toBe(f.err)
    expect(f.outcome).toBe(f.err)
    expect(f.close).toEqual([-2, null])
    expect(f.events).toEqual(["error", "close"])
  })

  it("a directory as the command: EACCES", async () => {
    const f = await failure([tmp])
    expect(f.err.code).toBe("EACCES")
    expect(f.err.errno).toBe(-os.constants.errno.EACCES)
    expect(f.err.syscall).toBe(`spawn ${tmp}`)
    expect(f.exited.code).toBe("EACCES")
    expect(f.close).toEqual([-2, null])
    expect((await nodeFailure([tmp])).code).toBe("EACCES")
  })

  it("a file without execute permission: EACCES", async () => {
    const file = path.join(tmp, "not-executable.sh")
    fs.writeFileSync(file, "#!/bin/sh\necho should not run\n", { mode: 0o644 })
    const f = await failure([file])
    expect(f.err.code).toBe("EACCES")
    expect(f.err.path).toBe(file)
    expect(f.outcome.code).toBe("EACCES")
    expect(f.close).toEqual([-2, null])
  })

  it("a missing cwd: ENOENT", async () => {
    const f = await failure(["true"], { cwd: path.join(tmp, "missing") })
    expect(f.err.code).toBe("ENOENT")
    expect(f.err.errno).toBe(-os.constants.errno.ENOENT)
    expect(f.exited.code).toBe("ENOENT")
    expect(f.close).toEqual([-2, null])
  })

  it("a cwd that exists but may not be searched: EACCES naming the cwd (syscall chdir), not the command", async () => {
    // Root may search anything: as root, the host runs as nobody.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pws-unsearchable-"))
    const locked = path.join(dir, "locked")
    fs.mkdirSync(locked, { mode: 0o600 })
    fs.chmodSync(locked, 0o600)
    fs.chmodSync(dir, 0o755)
    try {
      const script = `
        const { supervise } = require(${JSON.stringify(ROOT)})
        const c = supervise(["true"], { cwd: ${JSON.stringify(locked)} })
        c.on("error", (e) => console.log(JSON.stringify({ code: e.code, syscall: e.syscall, path: e.path, message: e.message })))
        c.outcome.then((o) => console.log(JSON.stringify({ ran: o.code })), () => {})`
      const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {}
      const out = await within(
        new Promise<string>((resolve, reject) => {
          const p = nodeSpawn(process.execPath, ["-e", script], { ...asNobody, cwd: "/", env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] })
          let s = ""
          p.stdout!.on("data", (b) => (s += b))
          p.on("error", reject)
          p.on("close", () => resolve(s))
        }),
        15_000,
        "host as nobody",
      )
      // Before the fix: {"code":"EACCES","syscall":"spawn true","path":"true",...}.
      const e = JSON.parse(out.trim().split("\n")[0]) as { code: string; syscall: string; path: string; message: string }
      expect(e.code).toBe("EACCES")
      expect(e.syscall).toBe("chdir")
      expect(e.path).toBe(locked)
      expect(e.message).toContain(locked)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it("a file as cwd: ENOTDIR", async () => {
    const file = path.join(tmp, "a-file")
    fs.writeFileSync(file, "")
    const f = await failure(["true"], { cwd: file })
    expect(f.err.code).toBe("ENOTDIR")
    expect(f.err.errno).toBe(-os.constants.errno.ENOTDIR)
    expect(f.outcome.code).toBe("ENOTDIR")
    expect(f.close).toEqual([-2, null])
  })

  it("an argument over the kernel's limit: E2BIG", async () => {
    const f = await failure(["echo", "x".repeat(256 << 10)])
    expect(f.err.code).toBe("E2BIG")
    expect(f.err.errno).toBe(-os.constants.errno.E2BIG)
    expect(f.close).toEqual([-2, null])
  })

  it("piped streams of a failed spawn end at once and stdin refuses writes without crashing", async () => {
    const c = supervise(["pws-no-such-command-xyz"], { stdin: "pipe", stdout: "pipe", stderr: "pipe", env })
    c.on("error", () => {})
    const ends = Promise.all([c.stdout!, c.stderr!].map((s) => new Promise((r) => (s.on("end", r), s.on("close", r), s.resume()))))
    await within(ends, 5000, "streams end")
    await c.exited.catch(() => undefined)
    await sleep(50)
  })

  it("failures with nobody listening: no crash, no unhandled rejection, no warning (in a fresh Node)", async () => {
    const script = `
      const { supervise } = require(${JSON.stringify(ROOT)})
      supervise(["pws-no-such-command-xyz"])
      supervise([${JSON.stringify(tmp)}])
      supervise(["true"], { cwd: ${JSON.stringify(path.join(tmp, "missing"))} })
      supervise(["pws-no-such-command-xyz"], { stdin: "pipe", stdout: "pipe" }).stdin.write("x")
      supervise(["sleep", "30"], { signal: AbortSignal.abort(), stdin: "pipe" }).stdin.write("x")
      const late = supervise(["pws-no-such-command-xyz"])
      setTimeout(() => { late.exited; late.treeEmpty }, 100) // asked for only after the failure
      setTimeout(() => console.log("still alive"), 300)`
    const r = await runNode(process.execPath, ["--unhandled-rejections=strict", "-e", script])
    expect(r.stderr).toBe("")
    expect(r.stdout).toBe("still alive\n")
    expect(r.code).toBe(0)
  })
})
