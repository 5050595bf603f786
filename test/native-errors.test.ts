// Bad input on the native supervisor: usage errors are synchronous, typed and coded like
// Node's; spawn failures are 'error' events and rejections shaped like Node's; none of
// them crashes the host or leaves an unhandled rejection.
import { spawn as nodeSpawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { supervise, type SupervisedChild, type SuperviseOptions } from "../lib/index"
import { leakCheck, markedEnv, sleep, within } from "./helpers"
import { ROOT, runNode } from "./native-helpers"

leakCheck()

const env = markedEnv()

function thrown(f: () => unknown): Error & { code?: string } {
  try {
    f()
  } catch (e) {
    return e as Error & { code?: string }
  }
  throw new Error("expected a synchronous throw")
}

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
    const e = thrown(() => supervise([""], { env }))
    expect(e).toBeInstanceOf(TypeError)
    expect(e.code).toBe("ERR_INVALID_ARG_VALUE")
  })

  it("an already aborted signal throws synchronously (AbortError) and starts nothing", () => {
    const ac = new AbortController()
    ac.abort()
    const e = thrown(() => supervise(["sleep", "30"], { signal: ac.signal, env }))
    expect(e.name).toBe("AbortError")
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
      setTimeout(() => console.log("still alive"), 300)`
    const r = await runNode(process.execPath, ["--unhandled-rejections=strict", "-e", script])
    expect(r.stderr).toBe("")
    expect(r.stdout).toBe("still alive\n")
    expect(r.code).toBe(0)
  })
})
