// supervise()'s execa-grade conveniences and Process's `input`, on the real core: an
// awaitable child, input (string, bytes, Readable), line iteration that does not buffer
// everything, `all` beside separate streams, maxBuffer, the abort's reason in the outcome,
// and NODE_DEBUG=pawwork-supervisor (on, and silent when off).
import { spawnSync } from "node:child_process"
import path from "node:path"
import { Readable } from "node:stream"
import { describe, expect, it } from "vitest"
import { Process, supervise } from "../lib/index"
import { legacy } from "../lib/legacy"
import { native } from "../lib/native"
import { leakCheck, markedEnv, thrown, within } from "./helpers"

leakCheck()

const env = markedEnv()

describe("supervise(): the child is awaitable", () => {
  it("await resolves to the outcome, a non-zero code included (not a rejection)", async () => {
    const o = await within(Promise.resolve(supervise(["sh", "-c", "exit 3"], { env })), 10_000, "awaited child")
    expect([o.reason, o.code]).toEqual(["exit", 3])
  })

  it("then/catch/finally are the outcome's; a spawn failure rejects", async () => {
    const c = supervise(["pws-no-such-command-xyz"], { env })
    c.on("error", () => {})
    const e = await c.catch((x) => x)
    expect((e as NodeJS.ErrnoException).code).toBe("ENOENT")
    let finallyRan = false
    const o = await supervise(["true"], { env }).finally(() => (finallyRan = true))
    expect([o.code, finallyRan]).toEqual([0, true])
  })

  it("Process.spawn's child is not a thenable (a ChildProcess returned from an async function stays the child)", async () => {
    const c = native.spawn(["true"], { env })
    expect("then" in c).toBe(false)
    const same = await (async () => c)()
    expect(same).toBe(c)
    await within(c.exited, 10_000, "exited")
  })
})

describe("input", () => {
  it.each([
    ["a string", () => "hello\n"],
    ["a Buffer", () => Buffer.from("hello\n")],
    ["a Uint8Array", () => new TextEncoder().encode("hello\n")],
    ["a Readable", () => Readable.from([Buffer.from("hel"), Buffer.from("lo\n")])],
  ])("supervise(): %s is written to stdin, which is then closed", async (_, make) => {
    const c = supervise(["cat"], { env, input: make(), stdout: "pipe" })
    expect(c.stdin).toBeNull()
    let out = ""
    c.stdout!.on("data", (b: Buffer) => (out += b))
    const o = await within(c.outcome, 10_000, "outcome")
    expect([o.code, out]).toEqual([0, "hello\n"])
  })

  it.each([["native"], ["legacy"]] as const)("Process.run/text/lines take it (%s; before: an unknown `input` was dropped)", async (impl) => {
    const P = impl === "native" ? native : legacy
    expect((await P.run(["cat"], { env, input: "hello" })).stdout.toString()).toBe("hello")
    expect((await P.text(["cat"], { env, input: Buffer.from("b") })).text).toBe("b")
    expect(await P.lines(["cat"], { env, input: Readable.from(["x\ny\n"]) })).toEqual(["x", "y"])
  })

  it("an input stream that fails: stdin is closed, the leader gets what came before, the outcome says so", async () => {
    const input = new Readable({ read() {} })
    const c = supervise(["cat"], { env, input, stdout: "pipe" })
    let out = ""
    c.stdout!.on("data", (b: Buffer) => (out += b))
    input.push("first\n")
    setTimeout(() => input.destroy(new Error("disk gone")), 100)
    const o = await within(c.outcome, 10_000, "outcome")
    expect([o.code, out]).toEqual([0, "first\n"])
    expect(o.errors).toEqual(["input: the input stream failed, stdin was closed early: disk gone"])
  })

  it("a leader that exits without reading its input is not an error", async () => {
    const r = await Process.run(["true"], { env, input: "x".repeat(4 << 20) })
    expect(r.code).toBe(0)
  })

  it("needs stdin omitted or pipe", async () => {
    expect(thrown(() => supervise(["cat"], { env, input: "x", stdin: "ignore" })).code).toBe("ERR_INVALID_ARG_VALUE")
    const e = await Process.run(["cat"], { env, input: "x", stdin: "inherit" }).catch((x) => x)
    expect(e.code).toBe("ERR_INVALID_ARG_VALUE")
  })
})

describe("lines()", () => {
  it('stdout, stderr and "all" (each stream split on its own, "\\r\\n" and "\\n", a last line without newline)', async () => {
    const script = "printf 'a\\r\\nb\\n\\nc'; printf 'e1\\ne2' >&2"
    const of = async (which: "stdout" | "stderr" | "all") => {
      const got: string[] = []
      for await (const l of supervise(["sh", "-c", script], { env, stdout: "pipe", stderr: "pipe" }).lines(which)) got.push(l)
      return got
    }
    expect(await within(of("stdout"), 10_000, "stdout lines")).toEqual(["a", "b", "", "c"])
    expect(await within(of("stderr"), 10_000, "stderr lines")).toEqual(["e1", "e2"])
    expect((await within(of("all"), 10_000, "all lines")).sort()).toEqual(["", "a", "b", "c", "e1", "e2"])
  })

  it("a line split across chunks and a UTF-8 character split across chunks arrive whole", async () => {
    const c = supervise(["sh", "-c", "printf 'h\\303'; sleep 0.1; printf '\\251llo\\nwor'; sleep 0.1; printf 'ld\\n'"], { env, stdout: "pipe" })
    const got: string[] = []
    for await (const l of c.lines()) got.push(l)
    expect(got).toEqual(["h\u00e9llo", "world"])
  })

  it("iterates 200k lines one at a time, and breaking out early never blocks the tree", async () => {
    const c = supervise(["seq", "1", "200000"], { env, stdout: "pipe" })
    let n = 0
    for await (const l of c.lines()) {
      n++
      if (n === 1) expect(l).toBe("1")
      if (n === 1000) break
    }
    const o = await within(c.outcome, 20_000, "outcome after break")
    expect([o.code, o.stdoutBytes]).toEqual([0, 1288895])
  })

  it("refuses a stream that is not piped", () => {
    expect(thrown(() => supervise(["true"], { env }).lines("stdout")).code).toBe("ERR_INVALID_ARG_VALUE")
  })
})

describe("all: merged output and the separate streams at once", () => {
  it("all holds both streams' bytes; stdout and stderr each their own", async () => {
    const c = supervise(["sh", "-c", "echo o1; echo e1 >&2; echo o2"], { env, stdout: "pipe", stderr: "pipe", all: true })
    const acc = { all: "", out: "", err: "" }
    c.all!.on("data", (b: Buffer) => (acc.all += b))
    c.stdout!.on("data", (b: Buffer) => (acc.out += b))
    c.stderr!.on("data", (b: Buffer) => (acc.err += b))
    await within(c.outcome, 10_000, "outcome")
    expect(acc.out).toBe("o1\no2\n")
    expect(acc.err).toBe("e1\n")
    expect(acc.all.split("\n").sort()).toEqual(["", "e1", "o1", "o2"])
  })

  it("reading only all never blocks on the unread separate streams (4 MiB)", async () => {
    const c = supervise(["sh", "-c", "head -c 4194304 /dev/zero"], { env, stdout: "pipe", stderr: "pipe", all: true })
    let n = 0
    c.all!.on("data", (b: Buffer) => (n += b.length))
    const o = await within(c.outcome, 20_000, "outcome")
    expect([o.code, n]).toEqual([0, 4 << 20])
    c.stdout!.resume()
  })

  it("needs stdout and stderr piped", () => {
    expect(thrown(() => supervise(["true"], { env, stdout: "pipe", all: true })).code).toBe("ERR_INVALID_ARG_VALUE")
  })
})

describe("maxBuffer (supervise): bytes delivered per stream, the rest read and discarded", () => {
  it("delivers the cap, says so in the outcome, and the tree runs to its end", async () => {
    const c = supervise(["sh", "-c", "head -c 100000 /dev/zero; echo err >&2"], { env, stdout: "pipe", stderr: "pipe", maxBuffer: 1000 })
    let out = 0
    let err = ""
    c.stdout!.on("data", (b: Buffer) => (out += b.length))
    c.stderr!.on("data", (b: Buffer) => (err += b))
    const o = await within(c.outcome, 10_000, "outcome")
    expect([o.code, out, err, o.truncated, o.stdoutBytes]).toEqual([0, 1000, "err\n", true, 100000])
    expect(o.errors).toEqual(["maxBuffer: stdout passed 1000 bytes; the rest was read and discarded"])
  })
})

describe("the abort's reason reaches the outcome", () => {
  it("as abortReason, with reason abort", async () => {
    const ac = new AbortController()
    const c = supervise(["sleep", "30"], { env, signal: ac.signal, graceMs: 200 })
    const why = new Error("the user pressed stop")
    ac.abort(why)
    const o = await within(c.outcome, 10_000, "outcome")
    expect(o.reason).toBe("abort")
    expect(o.abortReason).toBe(why)
  })

  it("absent when it did not end by an abort", async () => {
    const o = await within(supervise(["true"], { env, signal: new AbortController().signal }).outcome, 10_000, "outcome")
    expect("abortReason" in o).toBe(false)
  })
})

describe("NODE_DEBUG=pawwork-supervisor", () => {
  const lib = path.resolve(__dirname, "..", "dist", "index.js")
  const script = `const { supervise } = require(${JSON.stringify(lib)});
    (async () => {
      await supervise(["true"], {});
      const c = supervise(["sh", "-c", "trap '' TERM; echo up; sleep 30"], { stdout: "pipe", graceMs: 100, timeoutMs: 300 });
      c.stdout.resume();
      await c;
    })()`
  const host = (debug: string | undefined) => {
    const e: NodeJS.ProcessEnv = { ...process.env, ...env }
    delete e.NODE_DEBUG
    if (debug !== undefined) e.NODE_DEBUG = debug
    return spawnSync(process.execPath, ["-e", script], { encoding: "utf8", timeout: 20_000, env: e })
  }

  it("logs each spawn (argv, containment and why), the ladder, the bound that fired", () => {
    const r = host("pawwork-supervisor")
    expect(r.error).toBeUndefined()
    expect(r.status).toBe(0)
    const log = r.stderr
    expect(log).toMatch(/PAWWORK-SUPERVISOR \d+: spawn pid \d+ argv \["true"\]/)
    expect(log).toMatch(/spawn pid \d+ argv \["sh","-c",.*containment (helper|fallback)/)
    expect(log).toMatch(/exit pid \d+ reason timeout code null signal SIGKILL/)
    expect(log).toMatch(/ladder: first signal after \d+ ms, grace \d+ ms/)
    expect(log).toMatch(/bound fired: timeoutMs 300/)
  })

  it("logs the helper's start, and its loss when it dies (the host's own helper, SIGKILLed)", () => {
    const lib = path.resolve(__dirname, "..", "dist", "index.js")
    const script = `const { supervise, containment } = require(${JSON.stringify(lib)});
      (async () => {
        await supervise(["true"]);
        const info = containment();
        if (info.mode !== "helper") { console.log("no helper: " + info.reason); return }
        process.kill(info.helperPid, "SIGKILL");
        for (let i = 0; i < 100 && containment().mode === "helper"; i++) await new Promise((r) => setTimeout(r, 20));
        await supervise(["true"]);
      })()`
    const e: NodeJS.ProcessEnv = { ...process.env, ...env, NODE_DEBUG: "pawwork-supervisor" }
    const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", timeout: 20_000, env: e })
    expect(r.status).toBe(0)
    // Without a helper on this machine there is nothing to start or lose: said, not hidden.
    if (r.stdout.startsWith("no helper")) return expect(r.stderr).toMatch(/containment fallback \(/)
    expect(r.stderr).toMatch(/helper started: pid \d+/)
    expect(r.stderr).toMatch(/helper lost: containment is now fallback/)
  })

  it("prints nothing without it (or with another module's name)", () => {
    for (const d of [undefined, "net"]) {
      const r = host(d)
      expect(r.status).toBe(0)
      expect(r.stderr).not.toMatch(/PAWWORK-SUPERVISOR/)
    }
  })
})

describe("the timeout trap, before and after", () => {
  it("supervise({ timeout }) is refused, pointing to timeoutMs and graceMs (before: silently ignored)", () => {
    const e = thrown(() => supervise(["sleep", "1"], { env, timeout: 100 } as never))
    expect(e.message).toContain('"timeoutMs"')
  })

  it("Process keeps the baseline's meaning (the grace after an abort): no abort, no effect — and NODE_DEBUG says so", () => {
    const lib = path.resolve(__dirname, "..", "dist", "index.js")
    const script = `const { Process } = require(${JSON.stringify(lib)}); Process.run(["true"], { timeout: 100 }).then((r) => process.exit(r.code))`
    const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", timeout: 20_000, env: { ...process.env, ...env, NODE_DEBUG: "pawwork-supervisor" } })
    expect(r.status).toBe(0)
    expect(r.stderr).toContain("timeout 100 is the grace between the first signal and SIGKILL after an abort")
  })
})

describe('stdio "socket": the child gets a socketpair, as from Node\'s "pipe"', () => {
  it.each([["supervise"], ["Process.spawn"]])("%s: the child sees sockets; stdin and output flow as with a pipe", async (api) => {
    const argv = ["sh", "-c", "test -S /dev/stdin && test -S /dev/stdout && echo sockets; cat; echo err >&2"]
    const c = api === "supervise" ? supervise(argv, { env, stdin: "socket", stdout: "socket", stderr: "stdout" }) : native.spawn(argv, { env, stdin: "socket", stdout: "socket", stderr: "socket" })
    let out = ""
    c.stdout!.on("data", (b: Buffer) => (out += b))
    c.stderr?.resume()
    c.stdin!.end("through\n")
    expect(await within(c.exited, 10_000, "exited")).toBe(0)
    expect(out).toBe(api === "supervise" ? "sockets\nthrough\nerr\n" : "sockets\nthrough\n")
  })

  it('"pipe" stays a pipe (the default, see README "Pipes or sockets")', async () => {
    const r = await Process.text(["sh", "-c", "test -p /dev/stdout && echo fifo"], { env })
    expect(r.text).toBe("fifo\n")
  })
})
