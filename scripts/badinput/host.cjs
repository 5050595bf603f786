// One bad-input case in a fresh host: `node host.cjs <case id>`. Loads the library the way
// an application does, runs the case, checks that it left no zombie among its own
// descendants, and prints one line `RESULT {"got": ..., "pids": [...], "zombies": [...]}`.
// The runner (run.mjs) judges it, and what is alive after this process ended.
"use strict"
const fs = require("node:fs")
const path = require("node:path")
const { cases } = require("./cases.cjs")
const { alive, pids, stat } = require("../procfs.cjs")

const ROOT = path.resolve(__dirname, "..", "..")
const lib = require(ROOT)

const tracked = []
let reported = false

/** Zombies among this process's descendants (read from /proc). */
function zombies() {
  const kids = new Map()
  const states = new Map()
  for (const n of pids()) {
    const s = stat(n)
    if (!s) continue
    states.set(n, s.state)
    kids.set(s.ppid, [...(kids.get(s.ppid) ?? []), n])
  }
  const out = []
  const queue = [process.pid]
  while (queue.length) {
    for (const k of kids.get(queue.shift()) ?? []) {
      if (states.get(k) === "Z") out.push(k)
      queue.push(k)
    }
  }
  return out
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

function bound(p, ms) {
  let t
  return Promise.race([
    Promise.resolve(p).finally(() => clearTimeout(t)),
    new Promise((_, rej) => (t = setTimeout(() => rej(Object.assign(new Error(`bound of ${ms} ms fired`), { code: "HANG" })), ms))),
  ])
}

async function until(cond, ms = 5000) {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw Object.assign(new Error("condition not met"), { code: "HANG" })
    await sleep(10)
  }
}

function report(got) {
  if (reported) return
  reported = true
  fs.writeSync(1, `RESULT ${JSON.stringify({ got, pids: tracked.filter((p) => typeof p === "number") })}\n`)
}

const h = {
  lib,
  root: ROOT,
  tmp: JSON.parse(process.env.BADINPUT_TMP),
  sleep,
  bound,
  until,
  alive,
  report,
  track: (pid) => pid !== undefined && tracked.push(pid),
  /** Error → "Ctor CODE", or "Ctor (name)" when it has no string code. */
  typed: (e) => (e && typeof e.code === "string" ? `${e.constructor.name} ${e.code}` : `${e?.constructor?.name} (${e?.name})`),
  /** The host's environment (it carries the case's marker) plus extra. */
  env: (extra = {}) => ({ ...process.env, ...extra }),
  hugeEnv: () => Object.fromEntries(Array.from({ length: 4096 }, (_, i) => [`PWS_BIG_${i}`, "y".repeat(1024)])),
  api(name) {
    if (name === "supervise") return { spawn: lib.supervise }
    lib.setImplementation(name === "Process(legacy)" ? "legacy" : "native")
    return lib.Process
  },
  /** Runs f beside two sentinels (own group; this group) that must outlive it. */
  async withSentinels(f) {
    const cp = require("node:child_process")
    const sentinels = [cp.spawn("sleep", ["60"], { detached: true, stdio: "ignore" }), cp.spawn("sleep", ["60"], { stdio: "ignore" })]
    let got
    try {
      const v = await bound(Promise.resolve().then(f), 10_000)
      got = typeof v === "string" ? `resolved; ${v}` : "resolved"
    } catch (e) {
      got = `rejects ${h.typed(e)}`
    }
    await sleep(100)
    const ok = sentinels.every((s) => s.exitCode === null && s.signalCode === null && alive(s.pid))
    for (const s of sentinels) s.kill("SIGKILL")
    await Promise.all(sentinels.map((s) => (s.exitCode !== null || s.signalCode !== null ? null : new Promise((r) => s.once("exit", r)))))
    return `${got}; sentinels ${ok ? "alive" : "dead"}`
  },
}

async function main() {
  const id = process.argv[2]
  const c = cases.find((x) => x.id === id)
  if (!c) throw new Error(`no case ${id}`)
  let got
  try {
    got = await c.run(h)
  } catch (e) {
    got = `case failed: ${h.typed(e)} ${e?.message}`
  }
  // Our children are reaped (by Node, the library or its helper): give it a bounded moment.
  const deadline = Date.now() + 3000
  let z = zombies()
  while (z.length && Date.now() < deadline) {
    await sleep(25)
    z = zombies()
  }
  if (z.length) got += `; zombies: ${z.join(" ")}`
  report(got)
  process.exit(0)
}

main()
