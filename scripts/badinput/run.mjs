#!/usr/bin/env node
// `make badinput`: every bad input of cases.cjs, each in a fresh host process (host.cjs),
// with a bound. A case passes when the host survived (exit 0, not a signal, no hang), it
// reported what was expected (a typed error: a `code` string), and nothing of it is left:
// no live process carrying the case's marker, none of the pids it started, no zombie
// among its descendants. Cases that could signal what we do not own (bad pids) run
// inside a private pid namespace. Prints a table and exits non-zero on any failure.
//
//   node scripts/badinput/run.mjs [--only <substring>] [--concurrency N]
import { execFileSync, spawn } from "node:child_process"
import fs from "node:fs"
import { createRequire } from "node:module"
import os from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"

const require = createRequire(import.meta.url)
const { cases } = require("./cases.cjs")
const HERE = path.dirname(fileURLToPath(import.meta.url))
const HOST = path.join(HERE, "host.cjs")
const MARK_KEY = "PWS_BADINPUT_MARK"
const RUN = `${process.pid}-${Date.now()}`

const args = process.argv.slice(2)
const opt = (name, def) => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : def
}
const only = opt("--only", "")
const concurrency = Number(opt("--concurrency", "6"))
const selected = cases.filter((c) => c.id.includes(only))

if (process.platform !== "linux") {
  // Said, not hidden: the cases' checks read /proc and the pid cases need a pid namespace.
  console.log(`badinput: skipped on ${process.platform} (it reads /proc and needs Linux pid namespaces)`)
  process.exit(0)
}

// --- the fixtures every case may point at --------------------------------------------------
const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "pws-badinput-"))
fs.chmodSync(tmpDir, 0o755)
const tmp = {
  dir: path.join(tmpDir, "a-dir"),
  file: path.join(tmpDir, "a-file"),
  noexec: path.join(tmpDir, "not-executable.sh"),
  locked: path.join(tmpDir, "locked"),
  missing: path.join(tmpDir, "missing"),
}
fs.mkdirSync(tmp.dir)
fs.writeFileSync(tmp.file, "")
fs.writeFileSync(tmp.noexec, "#!/bin/sh\necho should not run\n", { mode: 0o644 })
fs.mkdirSync(tmp.locked, { mode: 0o600 })
fs.chmodSync(tmp.locked, 0o600)

// --- a private pid namespace ---------------------------------------------------------------
function nsPrefix() {
  const ns = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc"]
  const candidates = []
  if (process.getuid() === 0) candidates.push(["setsid", ...ns])
  candidates.push(["sudo", "-n", "setsid", ...ns], ["setsid", "unshare", "--user", "--map-root-user", ...ns.slice(1)])
  for (const c of candidates) {
    try {
      if (execFileSync(c[0], [...c.slice(1), "sh", "-c", "echo $$"], { stdio: ["ignore", "pipe", "ignore"], timeout: 10_000 }).toString().trim() === "1") return c
    } catch {
      // not here; the next
    }
  }
  return undefined
}
const NS = selected.some((c) => c.ns) ? nsPrefix() : undefined

// --- /proc ----------------------------------------------------------------------------------
const { alive } = require("../procfs.cjs")

/** Live processes whose environment carries this marker (one read of /proc). */
function marked(mark) {
  const needle = `${MARK_KEY}=${mark}`
  const out = []
  for (const n of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(n) || Number(n) === process.pid) continue
    try {
      if (!alive(Number(n))) continue
      if (fs.readFileSync(`/proc/${n}/environ`, "latin1").split("\0").includes(needle)) out.push(Number(n))
    } catch {
      // gone, or not readable
    }
  }
  return out
}

/** A leftover as the report shows it: pid, state, parent and what it runs. */
function describe(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "latin1")
    const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0").filter(Boolean).join(" ").slice(0, 60)
    return `${pid} (${state}, ppid ${ppid}: ${cmd})`
  } catch {
    return `${pid} (gone)`
  }
}

function killAll(pids) {
  for (const p of pids) {
    try {
      process.kill(p, "SIGKILL")
    } catch {
      // gone
    }
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

// --- one case --------------------------------------------------------------------------------
async function runCase(c, index) {
  const mark = `${RUN}-${index}`
  const env = { ...process.env, [MARK_KEY]: mark, BADINPUT_TMP: JSON.stringify(tmp) }
  const boundMs = c.boundMs ?? 20_000
  let bin = process.execPath
  let argv = [HOST, c.id]
  const spawnOpts = { env, stdio: ["ignore", "pipe", "pipe"], detached: true }
  if (c.ns) {
    if (!NS) return { ...c, got: "no private pid namespace available here", ok: false }
    const shell = `setsid ${JSON.stringify(process.execPath)} ${JSON.stringify(HOST)} ${JSON.stringify(c.id)}; rc=$?; echo "STATUS $rc"`
    ;[bin, ...argv] = [...NS, "sh", "-c", shell]
  }
  if (c.nobody && process.getuid() === 0) Object.assign(spawnOpts, { uid: 65534, gid: 65534 })
  const t0 = Date.now()
  const r = await new Promise((resolve) => {
    const p = spawn(bin, argv, spawnOpts)
    let out = ""
    let err = ""
    p.stdout.on("data", (b) => (out += b))
    p.stderr.on("data", (b) => (err += b))
    const timer = setTimeout(() => {
      try {
        process.kill(-p.pid, "SIGKILL")
      } catch {
        p.kill("SIGKILL")
      }
      resolve({ hang: true, out, err })
    }, boundMs)
    p.on("error", (e) => {
      clearTimeout(timer)
      resolve({ out, err: String(e), code: null, signal: null })
    })
    p.on("close", (code, signal) => {
      clearTimeout(timer)
      resolve({ out, err, code, signal })
    })
  })
  const ms = Date.now() - t0
  const problems = []
  let status = r.hang ? "hang" : r.signal ? `signal ${r.signal}` : `exit ${r.code}`
  if (c.ns && !r.hang) status = /STATUS (\d+)/.exec(r.out) ? (Number(/STATUS (\d+)/.exec(r.out)[1]) > 128 ? `signal ${Number(/STATUS (\d+)/.exec(r.out)[1]) - 128}` : `exit ${/STATUS (\d+)/.exec(r.out)[1]}`) : "no status"
  if (status !== "exit 0") problems.push(`host ${status}`)
  const line = /^RESULT (.*)$/m.exec(r.out)
  let result = { got: "(no result)", pids: [] }
  if (line) result = JSON.parse(line[1])
  const got = result.got
  const ok = c.match ? c.match(got) : got === c.expected
  if (!ok) problems.push("unexpected")
  // What is left: give the library's cleanup (after the host's exit) a bounded moment.
  const deadline = Date.now() + 3000
  let left = [...new Set([...marked(mark), ...result.pids.filter(alive)])]
  while (left.length && Date.now() < deadline) {
    await sleep(50)
    left = [...new Set([...marked(mark), ...result.pids.filter(alive)])]
  }
  if (left.length) {
    problems.push(`left alive: ${left.slice(0, 5).map(describe).join(", ")}${left.length > 5 ? ` (+${left.length - 5})` : ""}`)
    killAll(left)
  }
  if (r.err.trim() && !ok) problems.push(`stderr: ${r.err.trim().split("\n").slice(-2).join(" | ").slice(0, 200)}`)
  return { ...c, got, ok: problems.length === 0, problems, ms }
}

// --- all of them, a few at a time -------------------------------------------------------------
const t0 = Date.now()
const results = new Array(selected.length)
let next = 0
// The heavy case runs alone: it is the only one that measures the machine.
const heavy = selected.filter((c) => c.boundMs && c.boundMs > 20_000)
const light = selected.filter((c) => !heavy.includes(c))
async function worker(list) {
  for (;;) {
    const i = next++
    if (i >= list.length) return
    const c = list[i]
    const r = await runCase(c, selected.indexOf(c))
    results[selected.indexOf(c)] = r
    process.stderr.write(r.ok ? "." : "F")
  }
}
await Promise.all(Array.from({ length: Math.max(1, concurrency) }, () => worker(light)))
next = 0
await worker(heavy)
process.stderr.write("\n")
fs.rmSync(tmpDir, { recursive: true, force: true })

// --- the table ------------------------------------------------------------------------------
const cols = ["case", "API", "expected", "got", "ok"]
const rows = results.map((r) => [r.input, r.api, r.expected, r.got + (r.problems.length && r.problems.join("; ") !== "unexpected" ? `  [${r.problems.filter((p) => p !== "unexpected").join("; ")}]` : ""), r.ok ? "ok" : "FAIL"])
const widths = cols.map((c, i) => Math.min(70, Math.max(c.length, ...rows.map((r) => r[i].length))))
const fmt = (r) => r.map((v, i) => (i === r.length - 1 ? v : v.padEnd(widths[i]))).join(" | ")
console.log(fmt(cols))
console.log(widths.map((w) => "-".repeat(w)).join("-|-"))
for (const r of rows) console.log(fmt(r))
const failed = results.filter((r) => !r.ok)
console.log(`\n${results.length} cases, ${results.length - failed.length} ok, ${failed.length} failed, ${((Date.now() - t0) / 1000).toFixed(1)} s (concurrency ${concurrency})`)
for (const f of failed) console.log(`FAIL ${f.id}: expected ${JSON.stringify(f.expected)}, got ${JSON.stringify(f.got)}${f.problems.length ? ` — ${f.problems.join("; ")}` : ""}`)
process.exit(failed.length ? 1 : 0)
