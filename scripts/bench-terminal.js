// Terminal sessions side by side, in one run: our spawnTerminal() (with the helper, and
// without it) and node-pty. For each:
//   echo round-trip  one byte written, the same byte read back through `cat` on a raw
//                    terminal (host → pty → child → pty → host); p50 / p99 over --rounds
//   throughput       `cat` of a --mb MiB file on a raw terminal, MiB/s to the host's reader,
//                    and the bytes that never arrived once the library said the session ended
//                    (node-pty has no end-of-output event: its exit event + 200 ms)
//   threads          the host's threads (/proc/self/task) with --terminals sessions
//                    open, minus before, per terminal
//   escaper          a session whose shell started a setsid escaper: after the library's
//                    kill (node-pty: pty.kill(), then its exit event; ours: terminate()),
//                    is the escaper still alive a second later?
// Figures need a quiet machine: take them alone (`make bench-terminal`).
//   node scripts/bench-terminal.js [--rounds N] [--mb N] [--terminals N]
"use strict"
const crypto = require("node:crypto")
const fs = require("node:fs")
const os = require("node:os")
const path = require("node:path")

const ROOT = path.resolve(__dirname, "..")
const arg = (name, def) => {
  const i = process.argv.indexOf("--" + name)
  return i > 0 ? Number(process.argv[i + 1]) : def
}
const ROUNDS = arg("rounds", 1000)
const MB = arg("mb", 100)
const TERMINALS = arg("terminals", 50)
const ENV = { PATH: "/usr/bin:/bin", TERM: "xterm-256color", HOME: os.homedir() }

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const threads = () => fs.readdirSync("/proc/self/task").length
function alive(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const state = s.slice(s.lastIndexOf(")") + 2)[0]
    return state !== "Z" && state !== "X"
  } catch {
    return false
  }
}
async function until(cond, ms, what) {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`bench-terminal: no ${what} within ${ms} ms (a bound fired)`)
    await sleep(2)
  }
}

// --- the implementations, behind one small interface --------------------------------
//   open(argv) → { pid, onData(fn(Buffer)), write(buf), kill(): Promise<void> (the library's
//   own way to end a session, resolved when it says the session ended) }
function ours(helper) {
  process.env.PAWWORK_SUPERVISOR_HELPER = helper
  const lib = require(path.join(ROOT, "dist"))
  return {
    name: helper === "0" ? "spawnTerminal (no helper)" : "spawnTerminal (helper)",
    mode: () => lib.containment().mode,
    open(argv) {
      const t = lib.spawnTerminal(argv, { env: ENV, rows: 24, cols: 80, graceMs: 1000 })
      return {
        pid: t.pid,
        onData: (fn) => t.output.on("data", fn),
        write: (b) => t.write(b),
        kill: () => t.terminate().then(() => undefined),
        // The session is over and every byte delivered: the outcome, and the output's end.
        done: Promise.all([t.outcome, new Promise((r) => t.output.once("end", r))]),
      }
    },
  }
}

function nodePty() {
  const pty = require("node-pty")
  return {
    name: "node-pty " + require("node-pty/package.json").version,
    mode: () => "-",
    open(argv) {
      const p = pty.spawn(argv[0], argv.slice(1), { name: "xterm-256color", cols: 80, rows: 24, cwd: process.cwd(), env: ENV, encoding: null })
      const exited = new Promise((r) => p.onExit(r))
      // node-pty has no end-of-output event: its exit, then 200 ms for data still in flight.
      const done = exited.then(() => sleep(200))
      return {
        pid: p.pid,
        onData: (fn) => p.onData((d) => fn(Buffer.isBuffer(d) ? d : Buffer.from(d))),
        write: (b) => p.write(b),
        kill: () => {
          p.kill() // SIGHUP to the leader (node-pty's default)
          return exited.then(() => undefined)
        },
        done,
      }
    },
  }
}

// --- the measurements -----------------------------------------------------------------
async function echoRoundTrip(impl) {
  const s = impl.open(["sh", "-c", "stty raw -echo && echo ready && exec cat"])
  let text = ""
  let got = 0
  s.onData((b) => {
    text += b.toString("latin1")
    got += b.length
  })
  await until(() => text.includes("ready"), 5000, "ready")
  await sleep(50)
  const base = got
  const times = []
  for (let i = 0; i < ROUNDS; i++) {
    const want = base + i + 1
    const t0 = process.hrtime.bigint()
    s.write("x")
    while (got < want) await new Promise((r) => setImmediate(r))
    times.push(Number(process.hrtime.bigint() - t0) / 1e3)
  }
  await s.kill()
  times.sort((a, b) => a - b)
  const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))]
  return { p50: q(0.5), p99: q(0.99) }
}

async function throughput(impl, file) {
  const s = impl.open(["sh", "-c", `stty raw -echo && exec cat "$0"`, file])
  const want = MB << 20
  let got = 0
  let t0 = 0
  let t1 = 0
  s.onData((b) => {
    if (!t0) t0 = performance.now()
    got += b.length
    t1 = performance.now()
  })
  let timer
  const bound = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`bench-terminal: ${MB} MiB not through within 120 s (a bound fired): ${got} bytes`)), 120_000)
  })
  await Promise.race([s.done, bound]).finally(() => clearTimeout(timer))
  return { mbs: (got / (1 << 20) / (t1 - t0)) * 1000, lost: want - got }
}

async function threadsPerTerminal(impl) {
  const warm = impl.open(["true"])
  await warm.kill()
  await sleep(100)
  const before = threads()
  const sessions = []
  for (let i = 0; i < TERMINALS; i++) sessions.push(impl.open(["sh", "-c", "echo up; exec sleep 300"]))
  const up = sessions.map(() => false)
  sessions.forEach((s, i) => s.onData((b) => b.includes("up") && (up[i] = true)))
  await until(() => up.every(Boolean), 30_000, `${TERMINALS} sessions up`)
  const during = threads()
  await Promise.all(sessions.map((s) => s.kill()))
  return (during - before) / TERMINALS
}

async function escaper(impl) {
  const s = impl.open(["sh", "-c", `setsid sh -c 'echo "pid escaper $$"; exec sleep 300' & sleep 0.2; echo ready; exec sleep 300`])
  let text = ""
  s.onData((b) => (text += b.toString("latin1")))
  await until(() => text.includes("ready"), 5000, "ready")
  const pid = Number(/pid escaper (\d+)/.exec(text)?.[1])
  await s.kill()
  await sleep(1000)
  const left = alive(pid)
  if (left) process.kill(pid, "SIGKILL") // ours: we started it
  return left ? "survives" : "gone"
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pws-bench-terminal-"))
  const file = path.join(dir, "data")
  const fd = fs.openSync(file, "w")
  for (let i = 0; i < MB; i++) fs.writeSync(fd, crypto.randomBytes(1 << 20))
  fs.closeSync(fd)
  const impls = [ours(""), nodePty()]
  const rows = []
  try {
    for (const impl of impls) {
      const mode = impl.mode()
      const step = (what) => process.stderr.write(`${impl.name}: ${what}\n`)
      step("echo round-trip")
      const rt = await echoRoundTrip(impl)
      step("throughput")
      const tp = await throughput(impl, file)
      step("threads")
      const tpt = await threadsPerTerminal(impl)
      step("escaper")
      const esc = await escaper(impl)
      rows.push([impl.name, mode, rt.p50.toFixed(0), rt.p99.toFixed(0), tp.mbs.toFixed(0), String(tp.lost), tpt.toFixed(2), esc])
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
  console.log(`bench-terminal: ${ROUNDS} echo rounds, ${MB} MiB, ${TERMINALS} terminals; node ${process.version}, ${os.cpus().length} CPUs\n`)
  console.log("| implementation | containment | echo p50 µs | echo p99 µs | MiB/s | bytes lost at exit | threads per terminal | setsid escaper after kill/terminate |")
  console.log("|---|---|---|---|---|---|---|---|")
  for (const r of rows) console.log("| " + r.join(" | ") + " |")
  process.exit(0)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
