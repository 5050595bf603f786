// The child's stdin on the native supervisor: EPIPE reaches the write's callback and
// never crashes the host, a write the child never reads does not block a cancel, end()
// is EOF, and "inherit" / "ignore" are what they say.
import { describe, expect, it } from "vitest"
import { supervise } from "../lib/index"
import { alive, fixture, leakCheck, markedEnv, sleep, waitFor, within } from "./helpers"
import { ROOT, capture, runNode, waitForText } from "./native-helpers"

leakCheck()

const env = markedEnv()

function write(w: NodeJS.WritableStream, data: string | Buffer): Promise<NodeJS.ErrnoException | null | undefined> {
  return new Promise((resolve) => w.write(data, (err) => resolve(err as NodeJS.ErrnoException | null | undefined)))
}

describe("stdin", () => {
  it("a write to a child that exited without reading gets EPIPE in its callback, no 'error' crash", async () => {
    const c = supervise(["true"], { stdin: "pipe", env })
    // Dead (its 'exit' may or may not have reached JS yet: both paths must say EPIPE).
    await waitFor(() => !alive(c.pid!), 5000, "child dead")
    const err = await within(write(c.stdin!, "hello\n"), 5000, "write callback")
    expect(err?.code).toBe("EPIPE")
    await within(c.outcome, 10_000, "outcome")
    // A late write after 'exit' too.
    const late = await within(write(c.stdin!, "again\n"), 5000, "late write callback")
    expect(late).toBeTruthy()
    // Give any stray 'error' event or rejection the time to surface (vitest fails on them).
    await sleep(100)
  })

  it("a write after the child closed its stdin (still running) gets EPIPE from the kernel", async () => {
    const c = supervise(["sh", "-c", "exec 0<&-; echo closed; sleep 5"], { stdin: "pipe", stdout: "pipe", env })
    const out = capture(c.stdout)
    await waitForText(out.text, "closed")
    const err = await within(write(c.stdin!, Buffer.alloc(256 << 10)), 5000, "write callback")
    expect(err?.code).toBe("EPIPE")
    expect(c.exitCode).toBe(null)
    await within(c.cancel(), 10_000, "cancel")
    await sleep(100)
  })

  it("with an 'error' listener on stdin, the EPIPE is also emitted there", async () => {
    const c = supervise(["sh", "-c", "exec 0<&-; echo closed; sleep 5"], { stdin: "pipe", stdout: "pipe", env })
    const out = capture(c.stdout)
    const errors: NodeJS.ErrnoException[] = []
    c.stdin!.on("error", (e) => errors.push(e))
    await waitForText(out.text, "closed")
    const err = await within(write(c.stdin!, "x"), 5000, "write callback")
    expect(err?.code).toBe("EPIPE")
    await waitFor(() => errors.length > 0, 2000, "'error' event")
    expect(errors[0].code).toBe("EPIPE")
    await within(c.cancel(), 10_000, "cancel")
  })

  it("a 64 MB write to a child that never reads does not prevent cancel() from settling", async () => {
    const c = supervise(["sleep", "30"], { stdin: "pipe", env })
    let settled: string | undefined
    c.stdin!.write(Buffer.alloc(64 << 20, 1), (err) => (settled = err ? (err as NodeJS.ErrnoException).code ?? "error" : "ok"))
    await sleep(200)
    expect(settled).toBe(undefined) // still blocked: the child reads nothing
    const o = await within(c.cancel({ graceMs: 1000 }), 10_000, "cancel")
    expect(o).toMatchObject({ reason: "stop", signal: "SIGTERM" })
    // The blocked write is failed, not left pending forever.
    await waitFor(() => settled !== undefined, 5000, "write callback")
    expect(settled).toBe("EPIPE")
  })

  it("end() delivers EOF", async () => {
    const c = supervise([fixture("echo-stdin.sh")], { stdin: "pipe", stdout: "pipe", env })
    const out = capture(c.stdout)
    c.stdin!.end()
    const o = await within(c.outcome, 10_000, "outcome")
    expect(o.code).toBe(0)
    expect(out.text()).toBe("eof\n")
  })

  it("writes arrive in order before the EOF of end()", async () => {
    const c = supervise([fixture("echo-stdin.sh")], { stdin: "pipe", stdout: "pipe", env })
    const out = capture(c.stdout)
    const parts = Array.from({ length: 200 }, (_, i) => `part ${i}\n`)
    for (const p of parts) c.stdin!.write(p)
    c.stdin!.end()
    await within(c.outcome, 10_000, "outcome")
    expect(out.text()).toBe(parts.join("") + "eof\n")
  })

  it('stdin "ignore": a child reading stdin gets EOF at once', async () => {
    const c = supervise([fixture("echo-stdin.sh")], { stdin: "ignore", stdout: "pipe", env })
    expect(c.stdin).toBe(null)
    const out = capture(c.stdout)
    const o = await within(c.outcome, 5000, "outcome")
    expect(o.code).toBe(0)
    expect(out.text()).toBe("eof\n")
  })

  it('stdin "inherit": the child reads the host\'s own stdin', async () => {
    // In a host whose stdin is a pipe we feed, so that "inherit" cannot pass for "ignore".
    const script = `
      const { supervise } = require(${JSON.stringify(ROOT)})
      const c = supervise([${JSON.stringify(fixture("echo-stdin.sh"))}], { stdin: "inherit", stdout: "inherit" })
      if (c.stdin !== null) throw new Error("stdin should be null with inherit")
      c.outcome.then((o) => process.stdout.write("code " + o.code + "\\n"))`
    const r = await runNode(process.execPath, ["-e", script], { input: "from the host\n" })
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    expect(r.stdout).toBe("from the host\neof\ncode 0\n")
  })
})
