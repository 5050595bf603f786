// The tests' door to scripts/procfs.cjs, the /proc reader the tests and the scripts share,
// with its types. Loaded through Node's own require: it is CommonJS, and the host scripts
// the tests start require it by PROCFS.
import { createRequire } from "node:module"
import * as path from "node:path"

/** Absolute path of scripts/procfs.cjs, for the scripts the tests run in a host of their own. */
export const PROCFS = path.resolve(__dirname, "..", "scripts", "procfs.cjs")

export interface Stat {
  pid: number
  state: string
  ppid: number
  pgid: number
  sid: number
  /** Start time in clock ticks since boot, as text: with the pid it names one process. */
  start: string
}

const procfs: {
  stat(pid: number): Stat | undefined
  alive(pid: number): boolean
  pids(): number[]
} = createRequire(__filename)(PROCFS)

/** pid's /proc/<pid>/stat fields, or undefined when it has no /proc entry. */
export const stat = procfs.stat
/** Alive and not a zombie (pid 1 here reaps orphans slowly: a zombie is dead). */
export const alive = procfs.alive
/** Every pid in /proc now. */
export const pids = procfs.pids
