// Runs a Node script inside a private pid namespace, so that code which could signal
// processes we do not own (kill(-1), kill(0), pid 1) can be tested without risk: in there
// kill(-1) reaches only the namespace, and the script runs in a session of its own
// (`setsid`), so kill(0) reaches only its own group. The namespace's pid 1 is a shell that
// reports the script's exit status; --kill-child ends everything in it when it is done.
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { runNode, type NodeRun } from "./native-helpers"

/** The command prefix that makes a private pid namespace here (root, sudo -n, or a user namespace). */
function prefix(): string[] {
  const ns = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc"]
  const candidates: string[][] = []
  if (process.getuid?.() === 0) candidates.push(["setsid", ...ns])
  candidates.push(["sudo", "-n", "setsid", ...ns], ["setsid", "unshare", "--user", "--map-root-user", ...ns.slice(1)])
  for (const c of candidates) {
    try {
      if (execFileSync(c[0], [...c.slice(1), "sh", "-c", "echo $$"], { stdio: ["ignore", "pipe", "ignore"], timeout: 10_000 }).toString().trim() === "1") return c
    } catch {
      // not available here; try the next
    }
  }
  throw new Error("cannot create a private pid namespace here (tried root, sudo -n and a user namespace): these tests must not run outside one")
}

let cached: string[] | undefined

export interface NsRun extends NodeRun {
  /** The script's exit status, or "signal:NAME" when a signal ended it (seen from the namespace's shell). */
  status: string
  /** The last line of the script's stdout, parsed as JSON (undefined when there is none). */
  result: unknown
}

/**
 * Writes `source` to a file and runs it with this Node inside a fresh pid namespace, in a
 * session of its own. Rejects if it takes longer than boundMs (a hang). With asInit, Node
 * itself is the namespace's pid 1, as in a container started without --init: every
 * orphan in there lands on it (the session is then unshare's, made by setsid).
 */
export async function runInPidNamespace(source: string, boundMs = 30_000, opts: { asInit?: boolean; env?: Record<string, string> } = {}): Promise<NsRun> {
  cached ??= prefix()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pws-pidns-"))
  const file = path.join(dir, "script.cjs")
  fs.writeFileSync(file, source)
  fs.chmodSync(dir, 0o755)
  fs.chmodSync(file, 0o644)
  try {
    const shell = `setsid ${JSON.stringify(process.execPath)} ${JSON.stringify(file)}; rc=$?; if [ $rc -gt 128 ]; then echo "status signal:$(kill -l $((rc - 128)))"; else echo "status $rc"; fi`
    const [bin, ...args] = opts.asInit ? [...cached, process.execPath, file] : [...cached, "sh", "-c", shell]
    const r = await runNode(bin, args, { boundMs, env: opts.env })
    const status = opts.asInit ? (r.code !== null ? String(r.code) : `signal:${r.signal}`) : /^status (\S+)$/m.exec(r.stdout)?.[1] ?? "none"
    const lines = r.stdout.split("\n").filter((l) => l && !l.startsWith("status "))
    let result: unknown
    try {
      result = JSON.parse(lines[lines.length - 1] ?? "")
    } catch {
      result = undefined
    }
    return { ...r, status, result }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
