// The comparison report's own machinery (scripts/report): the /proc marker scan that finds
// survivors, the counted writer that tells lost bytes from unwritten ones, the load gate's
// bound, the per-cell cgroup CPU figure, and the why-line counts. The report's verdicts are
// only as good as these, so they are tested on real processes here.
import { spawn, type ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { alive, fixture } from "./helpers"

const REPORT = path.resolve(__dirname, "..", "scripts", "report")
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const load = (name: string): Promise<any> => import(path.join(REPORT, name))

const started: ChildProcess[] = []
afterEach(() => {
  for (const c of started.splice(0)) if (c.pid && alive(c.pid)) c.kill("SIGKILL")
})

function start(cmd: string, args: string[]): ChildProcess {
  const c = spawn(cmd, args, { stdio: ["ignore", "pipe", "ignore"] })
  started.push(c)
  return c
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const t0 = Date.now()
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`condition not met within ${ms} ms`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe("report harness", () => {
  it("finds marked processes wherever the variable sits in the environment, and only that variable", async () => {
    const { scanMarked, MARK_KEY } = await load("procs.mjs")
    const prefix = `t${process.pid}x${Date.now()}-`
    // env -i: the marker first in the block, in the middle, and a longer name that merely ends with it.
    const first = start("env", ["-i", `${MARK_KEY}=${prefix}1`, "A=1", "sleep", "30"])
    const middle = start("env", ["-i", "A=1", `${MARK_KEY}=${prefix}2`, "B=2", "sleep", "30"])
    const decoy = start("env", ["-i", `X${MARK_KEY}=${prefix}3`, "sleep", "30"])
    await until(() => [first, middle, decoy].every((c) => fs.readFileSync(`/proc/${c.pid}/cmdline`, "latin1").startsWith("sleep")))
    const found = scanMarked(prefix, { fresh: true })
    expect(found.map((p: { pid: number }) => p.pid).sort()).toEqual([first.pid, middle.pid].sort())
    expect(found.find((p: { pid: number }) => p.pid === middle.pid).mark).toBe(`${prefix}2`)
    // A narrower prefix within the same scope, then a process that died: gone from a fresh scan.
    expect(scanMarked(`${prefix}1`, { scope: prefix }).map((p: { pid: number }) => p.pid)).toEqual([first.pid])
    first.kill("SIGKILL")
    await until(() => !alive(first.pid!))
    expect(scanMarked(prefix, { fresh: true }).map((p: { pid: number }) => p.pid)).toEqual([middle.pid])
  })

  it("counted writer: after a kill, every byte the pipe took arrives, in pattern order", async () => {
    const countFile = path.join(os.tmpdir(), `pws-writer-${process.pid}-${Date.now()}`)
    const w = start(fixture("report-counted-writer.pl"), [countFile, "65536", "0", "ignore-term"])
    const chunks: Buffer[] = []
    let bytes = 0
    w.stdout!.on("data", (c: Buffer) => {
      chunks.push(c)
      bytes += c.length
    })
    const ended = new Promise((r) => w.stdout!.once("end", r))
    await until(() => bytes > 4 << 20, 15000)
    // SIGTERM is ignored ("keeps writing through the grace"), SIGKILL ends it.
    w.stdout!.pause()
    w.kill("SIGTERM")
    await new Promise((r) => setTimeout(r, 100))
    expect(alive(w.pid!)).toBe(true)
    w.kill("SIGKILL")
    w.stdout!.resume()
    await ended
    const all = Buffer.concat(chunks)
    const head = all.subarray(0, 64).toString("latin1")
    expect(head).toMatch(new RegExp(`^pid writer ${w.pid}\nready\n`))
    const body = all.subarray(head.indexOf("ready\n") + 6)
    let bad = -1
    for (let i = 0; i < body.length; i++)
      if (body[i] !== ((i * 31 + 7) & 0xff)) {
        bad = i
        break
      }
    expect(bad).toBe(-1)
    // The count is updated after each write returns: a write cut short by the kill may
    // have put up to one chunk into the pipe uncounted (extra bytes, never a loss).
    const counted = Number(fs.readFileSync(countFile, "latin1").trim())
    expect(counted).toBeGreaterThan(4 << 20)
    expect(body.length).toBeGreaterThanOrEqual(counted)
    expect(body.length - counted).toBeLessThanOrEqual(65536)
    fs.rmSync(countFile, { force: true })
  })

  it("the load gate's wait is bounded and says when the bound ended it", async () => {
    const { whenIdle, busyBetween, cpuSample } = await load("load.mjs")
    const t0 = Date.now()
    const g = await whenIdle(-1, 300) // never idle enough: only the bound can end it
    expect(g.gave).toBe(true)
    expect(Date.now() - t0).toBeLessThan(5000)
    expect(await whenIdle(2, 300)).toEqual({ waitedMs: expect.any(Number), gave: false })
    expect(busyBetween({ busy: 10, total: 100 }, { busy: 40, total: 200 })).toBeCloseTo(0.3)
    expect(busyBetween({ busy: 10, total: 100 }, { busy: 10, total: 100 })).toBeNull()
    const s = cpuSample()
    expect(s.total).toBeGreaterThan(0)
    expect(s.busy).toBeLessThanOrEqual(s.total)
  })

  it("charges a cell's CPU to a cgroup of its own, or says why it cannot", async () => {
    const { runCgroup, cellCgroup, inCgroup, cpuMs, members, removeTree } = await load("cgroup.mjs")
    const run = runCgroup(`test${process.pid}x${Date.now()}`)
    if (!run.dir) {
      // No writable cgroup v2 here: the report leaves the CPU table out and must say why.
      expect(run.why).toMatch(/cgroup/)
      expect(inCgroup(null, ["true"])).toEqual(["true"])
      return
    }
    try {
      const dir = cellCgroup(run.dir, "c0")
      const [cmd, ...args] = inCgroup(dir, ["/bin/sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 0.2"])
      const c = start(cmd, args)
      await until(() => members(dir).includes(c.pid))
      await new Promise((r) => c.once("exit", r))
      await until(() => members(dir).length === 0)
      expect(cpuMs(dir)).toBeGreaterThan(20) // the shell's loop: tens to hundreds of ms here
      expect(removeTree(dir)).toBe(true)
    } finally {
      expect(removeTree(run.dir)).toBe(true)
    }
  })

  it("counts repeated causes once per repetition, whatever numbers they carry", async () => {
    const { summarize, median } = await load("render.mjs")
    const rep = (why: string[], extra = {}) => ({ pass: why.length === 0, why, leaked: 0, lost: 0, ms: null, ...extra })
    const s = summarize({
      harnessLeaked: 1,
      cpuMs: 1234,
      reps: [
        rep(["no result within 3000 ms of the cancel (hang)", "4 processes left alive (leader, mid, 2 leaf)"], { leaked: 4, busy: 0.5 }),
        rep(["no result within 3000.5 ms of the cancel (hang)"], { busy: 0.9, gateGave: true }),
        rep([], { ms: 12, busy: 0.7 }),
      ],
    })
    expect(s.passes).toBe(1)
    expect(s.n).toBe(3)
    expect(s.leaked).toBe(5)
    expect(s.whys[0]).toEqual(["no result within N ms of the cancel (hang)", 2])
    expect(s.busy).toBe(0.7)
    expect(s.gateGave).toBe(1)
    expect(s.median).toBe(12)
    expect(median([3, null, 1, 2, 4])).toBe(2.5)
    expect(median([])).toBeNull()
  })
})
