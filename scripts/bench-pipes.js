// Benchmark (not a test) for issue 15's pipes-vs-sockets question: the same supervised
// child with its stdio over a pipe (our default) and over a socketpair (what Node's 'pipe'
// gives a child on Unix, our "socket" mode), with child_process's 'pipe' beside them for
// reference. Take figures on an otherwise idle machine.
//   node scripts/bench-pipes.js [--mb 512] [--runs 7] [--trips 2000]
//
// 1. Throughput: `head -c MB` to stdout, consumed in flowing mode; MB/s from spawn to the
//    outcome (native) or 'close' (child_process); median of --runs.
// 2. Round trips: a line written to `cat`'s stdin and read back from its stdout, --trips
//    times in one child; µs per round trip, median of --runs.
// 3. What the child sees: `test -S /dev/stdout` (a program that tells sockets from pipes).
const cp = require("node:child_process")
const { supervise } = require("..")

const args = process.argv.slice(2)
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : def
}
const MB = opt("mb", 512)
const RUNS = opt("runs", 7)
const TRIPS = opt("trips", 2000)

const now = () => Number(process.hrtime.bigint()) / 1e6
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/** One child per transport: its stdin and stdout, and a promise of its end. */
function start(transport, argv, stdin) {
  if (transport === "child_process") {
    const c = cp.spawn(argv[0], argv.slice(1), { stdio: [stdin ? "pipe" : "ignore", "pipe", "ignore"] })
    return { stdin: c.stdin, stdout: c.stdout, done: new Promise((r) => c.once("close", r)) }
  }
  const c = supervise(argv, { stdin: stdin ? transport : "ignore", stdout: transport })
  return { stdin: c.stdin, stdout: c.stdout, done: c.outcome }
}

async function throughput(transport) {
  const bytes = MB << 20
  const t0 = now()
  const c = start(transport, ["head", "-c", String(bytes), "/dev/zero"], false)
  let n = 0
  c.stdout.on("data", (b) => (n += b.length))
  await c.done
  if (n !== bytes) throw new Error(`${transport}: ${n} of ${bytes} bytes`)
  return MB / ((now() - t0) / 1000)
}

async function roundTrips(transport) {
  const c = start(transport, ["cat"], true)
  const line = "x".repeat(63) + "\n"
  let pending
  let buf = ""
  c.stdout.on("data", (b) => {
    buf += b
    if (buf.length >= line.length) {
      buf = buf.slice(line.length)
      pending()
    }
  })
  const t0 = now()
  for (let i = 0; i < TRIPS; i++) {
    await new Promise((r) => {
      pending = r
      c.stdin.write(line)
    })
  }
  const us = ((now() - t0) * 1000) / TRIPS
  c.stdin.end()
  await c.done
  return us
}

async function sees(transport) {
  const c = start(transport, ["sh", "-c", "test -S /dev/stdout && echo socket || echo pipe"], false)
  let out = ""
  c.stdout.on("data", (b) => (out += b))
  await c.done
  return out.trim()
}

;(async () => {
  const transports = ["pipe", "socket", "child_process"]
  console.log(`stdio transports: ${MB} MiB throughput, ${TRIPS} round trips, median of ${RUNS} runs`)
  console.log("transport        child sees   MB/s     µs/round trip")
  for (const t of transports) {
    await throughput(t) // warm-up (the helper starts, page cache)
    const mbs = []
    const us = []
    for (let i = 0; i < RUNS; i++) {
      mbs.push(await throughput(t))
      us.push(await roundTrips(t))
    }
    const label = t === "child_process" ? "child_process" : `native ${t}`
    console.log(`${label.padEnd(16)} ${(await sees(t)).padEnd(12)} ${median(mbs).toFixed(0).padStart(6)}   ${median(us).toFixed(1).padStart(8)}`)
  }
})().catch((e) => {
  console.error(e)
  process.exit(1)
})
