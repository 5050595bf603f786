// The fixture rows of the report. Each row runs ONE repetition in the current host
// process through an adapter and returns what it observed:
//   { pass, why: [..], leaked, lost, ms }   (why is empty when it passed)
// Nothing here knows which implementation is under test: every verdict comes from what
// the processes, pipes and results did.
import { spawn as cpSpawn } from "node:child_process"
import fs from "node:fs"
import path from "node:path"
import { MARK_KEY, alive, killRecorded, scanMarked, sleep, stat } from "./procs.mjs"
import { ROOT } from "./adapters.mjs"

export const FIXTURES = path.join(ROOT, "fixtures")
const CELL = path.join(ROOT, "scripts", "report", "cell.mjs")
const WRITER = path.join(FIXTURES, "report-counted-writer.pl")

/** Bounds shared by every row (the same for every implementation). */
export const BOUNDS = {
  graceMs: 300, // first signal → SIGKILL
  readyMs: 8000, // spawn → the fixture printed "ready"
  hangMs: 3000, // cancel (or spawn, for rows without a cancel) → result; past it: a hang
  afterResultMs: 800, // result → tree empty; past it the survivors are leaked
  timeoutMs: 1000, // run-time limit of the timeout row (the writer must be running by then)
  gateMs: 3000, // longest a repetition waits for the CPUs to fall below --busy before starting anyway
  cellGateMs: 9000, // the same for a new cell while others run
}

const sh = (name, ...args) => ["/bin/sh", path.join(FIXTURES, name), ...args]
const now = () => performance.now()

/** The processes of one repetition: printed pids, the leader, and everything carrying the marker. */
class Tree {
  constructor(ctx) {
    this.mark = ctx.mark
    this.scope = ctx.scope ?? ctx.mark // what one walk of /proc collects for the whole cell
    this.announce = ctx.announce
    this.known = new Map() // pid → { start, role }
    this.lastScan = 0
  }
  add(pid, role) {
    if (!pid || this.known.has(pid)) return
    const s = stat(pid)
    if (!s) return
    this.known.set(pid, { start: s.start, role })
    this.announce(pid, s.start)
  }
  /** Adds every live process carrying this repetition's marker. */
  scan(fresh = false) {
    this.lastScan = now()
    const found = scanMarked(this.mark, { fresh, scope: this.scope }).filter((p) => p.mark === this.mark)
    for (const p of found) if (!this.known.has(p.pid)) this.known.set(p.pid, { start: p.start, role: "marked" })
    return found
  }
  /** Alive now; a known process found dead (or a zombie, or its pid re-used) stays dead. */
  isAlive(pid, k) {
    if (k.dead) return false
    if (alive(pid, k.start)) return true
    k.dead = true
    return false
  }
  liveKnown() {
    return [...this.known].filter(([pid, k]) => this.isAlive(pid, k)).map(([pid, k]) => ({ pid, start: k.start, role: k.role }))
  }
  anyKnownAlive() {
    for (const [pid, k] of this.known) if (this.isAlive(pid, k)) return true
    return false
  }
  /** True when no known process is alive and a fresh marker scan finds none either. */
  empty() {
    if (this.anyKnownAlive()) return false
    // A fresh walk of /proc: a process forked a moment ago must not be missed.
    return this.scan(true).length === 0 && !this.anyKnownAlive()
  }
  survivors() {
    this.scan()
    return this.liveKnown()
  }
  killAll() {
    this.scan()
    return killRecorded(this.liveKnown())
  }
}

function describe(list) {
  const roles = new Map()
  for (const p of list) roles.set(p.role, (roles.get(p.role) ?? 0) + 1)
  return [...roles].map(([r, n]) => (n > 1 ? `${n} ${r}` : r)).join(", ")
}

/** Settles-once tracking of a promise: { done, at, value }. */
function track(promise) {
  const t = { done: false, at: 0, value: undefined }
  t.promise = promise.then((v) => {
    t.done = true
    t.at = now()
    t.value = v
    return v
  })
  return t
}

/** Collects a stdout stream; parses "pid <role> <pid>" / "pid <pid>" / "ready" lines until ready. */
function watchOutput(stream, tree) {
  const w = { chunks: [], bytes: 0, ready: false, text: "" }
  let onReady
  w.readyPromise = new Promise((r) => (onReady = r))
  if (!stream) return w
  stream.on("data", (c) => {
    w.chunks.push(c)
    w.bytes += c.length
    if (w.ready) return
    w.text += c.toString("latin1")
    const lines = w.text.split("\n")
    for (const line of lines.slice(0, -1)) {
      const m = /^pid (?:(\S+) )?(\d+)$/.exec(line.trim())
      if (m) tree.add(Number(m[2]), m[1] ?? "root")
      if (line.trim() === "ready") {
        w.ready = true
        w.readyAt = now()
        w.readyOffset = w.text.indexOf("ready\n") + 6
        onReady()
        return
      }
    }
  })
  stream.on("error", () => {})
  return w
}

/** Polls until the result settled and the tree is empty, within the bounds. */
async function waitEnd(tree, settled, from, extra = () => true) {
  let emptyAt = 0
  for (;;) {
    // Known pids are checked every turn; the /proc marker scan at most every 10 ms.
    if (!emptyAt && !tree.anyKnownAlive() && now() - tree.lastScan > 10 && tree.empty()) emptyAt = now()
    if (settled.done && emptyAt && extra()) break
    if (now() - from > BOUNDS.hangMs) break
    if (settled.done && now() - settled.at > BOUNDS.afterResultMs) break
    await sleep(10)
  }
  return emptyAt
}

/** Kills what is left, waits (bounded) for the result so the host holds nothing, returns survivors. */
async function finish(tree, settled) {
  const surv = tree.survivors()
  tree.killAll()
  await Promise.race([settled.promise, sleep(1500)])
  return surv
}

function verdict(why, surv, extra = {}) {
  if (surv.length) why.push(`${surv.length} process${surv.length > 1 ? "es" : ""} left alive (${describe(surv)})`)
  return { pass: why.length === 0, why, leaked: surv.length, lost: 0, ms: null, ...extra }
}

function hangWhy(settled, from) {
  return settled.done ? [] : [`no result within ${BOUNDS.hangMs} ms of ${from} (hang)`]
}

/** The common shape: start, wait for "ready", cancel, wait for the result and an empty tree. */
async function cancelRow(ctx, argv, opts = {}) {
  const tree = new Tree(ctx)
  const h = opts.terminal ? ctx.adapter.startTerminal(argv, { env: ctx.env, graceMs: BOUNDS.graceMs }) : ctx.adapter.start(argv, { env: ctx.env, graceMs: BOUNDS.graceMs, stdin: !!opts.stdin })
  if (h.pid) tree.add(h.pid, "leader")
  const out = watchOutput(h.stdout, tree)
  const settled = track(h.result)
  await Promise.race([out.readyPromise, settled.promise, sleep(BOUNDS.readyMs)])
  if (!out.ready) {
    const why = [settled.done ? `ended before "ready" (${JSON.stringify(settled.value.error?.code ?? settled.value.code)})` : `fixture not ready within ${BOUNDS.readyMs} ms`]
    const surv = await finish(tree, settled)
    return verdict(why, surv)
  }
  tree.scan()
  const state = opts.beforeCancel ? await opts.beforeCancel(h, tree) : {}
  const tc = now()
  h.cancel()
  const emptyAt = await waitEnd(tree, settled, tc, opts.extraDone ? () => opts.extraDone(state) : undefined)
  const why = hangWhy(settled, "the cancel")
  if (opts.check) why.push(...opts.check(state, settled, out))
  const surv = await finish(tree, settled)
  return verdict(why, surv, { ms: emptyAt && !why.length && !surv.length ? Math.max(emptyAt, settled.at) - tc : null })
}

// --- pattern output (report-counted-writer.pl) -----------------------------------------------
function checkPattern(buf) {
  for (let i = 0; i < buf.length; i++) if (buf[i] !== ((i * 31 + 7) & 0xff)) return i
  return -1
}

function countWritten(file) {
  try {
    return Number(fs.readFileSync(file, "latin1").trim()) || 0
  } catch {
    return 0
  }
}

/** Pattern bytes received after "ready", checked byte by byte against what the writer counted. */
function patternCheck(out, countFile) {
  const all = Buffer.concat(out.chunks)
  const text = all.toString("latin1")
  const at = text.indexOf("ready\n")
  const body = at < 0 ? Buffer.alloc(0) : all.subarray(at + 6)
  const written = countWritten(countFile)
  const why = []
  const bad = checkPattern(body)
  if (bad >= 0) why.push(`output corrupted at byte ${bad}`)
  const lost = Math.max(0, written - body.length)
  if (lost > 0) why.push(`${lost} bytes written but not delivered (of ${written})`)
  if (written === 0 && at >= 0) why.push("writer wrote nothing")
  return { why, lost, received: body.length }
}

async function timeoutDrain(ctx) {
  const countFile = path.join(ctx.tmp, `${ctx.mark}.count`)
  const tree = new Tree(ctx)
  const t0 = now()
  const h = ctx.adapter.start(sh("report-slow-drain.sh", WRITER, countFile), {
    env: ctx.env,
    graceMs: BOUNDS.graceMs,
    timeoutMs: BOUNDS.timeoutMs,
  })
  if (h.pid) tree.add(h.pid, "leader")
  const out = watchOutput(h.stdout, tree)
  const settled = track(h.result)
  const tFire = t0 + BOUNDS.timeoutMs
  const emptyAt = await waitEnd(tree, settled, tFire)
  const why = hangWhy(settled, "the timeout")
  if (!out.ready) why.push(`the writer was not running yet when the ${BOUNDS.timeoutMs} ms timeout fired (host overloaded)`)
  if (settled.done && settled.at < tFire - 50) why.push(`result came ${Math.round(tFire - settled.at)} ms before the timeout`)
  const p = patternCheck(out, countFile)
  if (settled.done) why.push(...p.why)
  const surv = await finish(tree, settled)
  fs.rmSync(countFile, { force: true })
  return verdict(why, surv, { lost: p.lost, ms: settled.done && emptyAt && !why.length && !surv.length ? settled.at - tFire : null })
}

async function outputChecksum(ctx) {
  const countFile = path.join(ctx.tmp, `${ctx.mark}.count`)
  let p = { why: [], lost: 0 }
  const r = await cancelRow(ctx, [WRITER, countFile, "65536", "0"], {
    beforeCancel: async () => {
      // Cancel mid-stream: once at least 1 MB of the pattern arrived.
      const t = now()
      while (now() - t < BOUNDS.readyMs) {
        if (countWritten(countFile) >= 1 << 20) break
        await sleep(2)
      }
      return {}
    },
    check: (_s, settled, out) => {
      if (!settled.done) return []
      p = patternCheck(out, countFile)
      return p.why
    },
  })
  fs.rmSync(countFile, { force: true })
  return { ...r, lost: p.lost }
}

async function abortStdin(ctx) {
  return cancelRow(ctx, sh("report-stdin-stall.sh"), {
    stdin: true,
    beforeCancel: async (h) => {
      const s = { cb: false, cbErr: null, inflight: false, uncaughtBefore: ctx.uncaught.length }
      if (!h.stdin) return { ...s, noStdin: true }
      h.stdin.on("error", (e) => (s.streamErr = e))
      h.stdin.write(Buffer.alloc(1 << 20, 0x61), (err) => {
        s.cb = true
        s.cbErr = err
      })
      await sleep(50)
      s.inflight = !s.cb
      return s
    },
    extraDone: (s) => s.noStdin || s.cb,
    check: (s) => {
      const why = []
      if (s.noStdin) why.push("no stdin stream")
      else if (!s.inflight) why.push("the 1 MB write completed before the cancel (not in flight)")
      else if (!s.cb) why.push(`the in-flight write's callback never ran within ${BOUNDS.hangMs} ms`)
      const unc = ctx.uncaught.slice(s.uncaughtBefore)
      if (unc.length) why.push(`uncaught in the host (would crash it): ${unc[0]}`)
      return why
    },
  })
}

async function backgroundHolder(ctx) {
  const tree = new Tree(ctx)
  const t0 = now()
  const h = ctx.adapter.start(sh("background-holder.sh"), { env: ctx.env, graceMs: BOUNDS.graceMs })
  if (h.pid) tree.add(h.pid, "leader")
  const out = watchOutput(h.stdout, tree)
  const settled = track(h.result)
  // No cancel: the leader exits by itself; the holder keeps stdout open.
  await waitEnd(tree, settled, t0)
  const why = hangWhy(settled, "the start")
  if (settled.done && !Buffer.concat(out.chunks).toString().includes("done")) why.push('the leader\'s "done" was not delivered')
  const surv = await finish(tree, settled)
  return verdict(why, surv, { ms: settled.done && !why.length && !surv.length ? settled.at - t0 : null })
}

async function enoent(ctx) {
  const t0 = now()
  const uncaughtBefore = ctx.uncaught.length
  const h = ctx.adapter.start([`report-no-such-command-${process.pid}`], { env: ctx.env, graceMs: BOUNDS.graceMs })
  const settled = track(h.result)
  if (h.stdout) h.stdout.on("data", () => {})
  await Promise.race([settled.promise, sleep(BOUNDS.hangMs)])
  await sleep(20) // an uncaught error event would surface by now
  const why = hangWhy(settled, "the spawn")
  if (settled.done && settled.value.error?.code !== "ENOENT") why.push(`no ENOENT error (got ${JSON.stringify(settled.value.error?.code ?? { code: settled.value.code })})`)
  const unc = ctx.uncaught.slice(uncaughtBefore)
  if (unc.length) why.push(`uncaught in the host (would crash it): ${unc[0]}`)
  return { pass: why.length === 0, why, leaked: 0, lost: 0, ms: why.length ? null : settled.at - t0 }
}

/**
 * A separate host process (cell.mjs --inner) owns the tree; the row signals that host:
 * SIGTERM / SIGINT (signal forwarding) or SIGKILL (host death). Pass: the tree is gone
 * (and, for TERM/INT, the host ended too, as Node's default would).
 */
async function hostSignal(ctx, sig) {
  const tree = new Tree(ctx)
  const host = cpSpawn(process.execPath, [CELL, "--inner", ctx.col, ctx.mark, "spawn-tree.sh"], { stdio: ["ignore", "pipe", "pipe"] })
  const hostStart = stat(host.pid)?.start
  let stderr = ""
  host.stderr.on("data", (c) => (stderr += c))
  const exit = track(new Promise((r) => host.once("exit", (code, signal) => r({ code, signal }))))
  host.on("error", () => {})
  const out = watchOutput(host.stdout, tree)
  await Promise.race([out.readyPromise, exit.promise, sleep(BOUNDS.readyMs)])
  const why = []
  let ms = null
  if (!out.ready) {
    why.push(exit.done ? `host ended before "ready": ${stderr.trim().split("\n").pop()}` : `host not ready within ${BOUNDS.readyMs} ms`)
  } else {
    tree.scan()
    const tc = now()
    host.kill(sig)
    const mustExit = sig !== "SIGKILL"
    const emptyAt = await waitEnd(tree, exit, tc, () => true)
    if (!exit.done) why.push(`the host did not exit within ${BOUNDS.hangMs} ms of ${sig}`)
    else if (mustExit && exit.value.signal !== sig) why.push(`the host ended with ${exit.value.signal ?? "code " + exit.value.code}, not by ${sig} as by default`)
    if (emptyAt && exit.done) ms = emptyAt - tc
  }
  const surv = tree.survivors()
  if (surv.length) why.push(`${surv.length} process${surv.length > 1 ? "es" : ""} left alive after ${sig} to the host (${describe(surv)})`)
  tree.killAll()
  if (alive(host.pid, hostStart)) host.kill("SIGKILL")
  await Promise.race([exit.promise, sleep(1500)])
  return { pass: why.length === 0, why, leaked: surv.length, lost: 0, ms: why.length ? null : ms }
}

/**
 * Rows in table order. conc: repetitions run at once inside one cell host (default
 * DEFAULT_CONC; 1 where an uncaught error must be attributed to one repetition, and for
 * the fork storm: tree-kill and legacy spend ~2 CPU s killing one storm, so storms
 * cancelled side by side measure their contention — tree-kill passed 20/20 one at a
 * time and 0–13/20 four at a time).
 */
export const DEFAULT_CONC = 10
export const ROWS = [
  { id: "grandchild-tree", title: "grandchild tree kill", run: (c) => cancelRow(c, sh("spawn-tree.sh")) },
  { id: "timeout-drain", title: "timeout racing a slow output drain", drain: true, run: timeoutDrain },
  { id: "abort-stdin", title: "abort during an in-flight stdin write", conc: 1, run: abortStdin },
  { id: "signal-forward", title: "signal forwarding (SIGTERM / SIGINT to the host)", run: (c) => hostSignal(c, c.rep % 2 ? "SIGINT" : "SIGTERM") },
  { id: "setsid-escaper", title: "setsid escaper", run: (c) => cancelRow(c, sh("setsid-escaper.sh")) },
  { id: "double-fork-daemon", title: "double-forked daemon, cleared env", run: (c) => cancelRow(c, sh("double-fork-daemon.sh")) },
  { id: "job-control", title: "job-control subgroups", run: (c) => cancelRow(c, sh("job-control.sh")) },
  { id: "stubborn-members", title: "TERM-ignoring members after the leader died", run: (c) => cancelRow(c, sh("stubborn-members.sh")) },
  { id: "fork-during-kill", title: "fork during the kill", run: (c) => cancelRow(c, sh("fork-on-term.sh")) },
  { id: "fork-storm", title: "fork storm (31 processes, cancelled mid-growth)", conc: 1, run: (c) => cancelRow(c, sh("fork-storm.sh", "4"), { beforeCancel: () => sleep(20) }) },
  { id: "background-holder", title: "background process holds stdout after the leader exits", drain: true, run: backgroundHolder },
  { id: "output-checksum", title: "output checksum under cancel", run: outputChecksum },
  { id: "host-sigkill", title: "host killed with SIGKILL", run: (c) => hostSignal(c, "SIGKILL") },
  { id: "no-pgrep", title: "missing `pgrep` on PATH", noPgrep: true, run: (c) => cancelRow(c, sh("spawn-tree.sh")) },
  { id: "enoent", title: "command that does not exist", drain: true, conc: 1, run: enoent },
  // Terminal rows: only the columns with terminal sessions (native's spawnTerminal, node-pty).
  { id: "terminal-setsid-escaper", title: "terminal session with a setsid escaper", terminal: true, run: (c) => cancelRow(c, sh("setsid-escaper.sh"), { terminal: true }) },
]

export { MARK_KEY }
