// What run() keeps of a leader's output, and the error that carries it when the leader
// failed. Shared by both Process implementations, so that they capture, cap and fail alike.
import type { Readable } from "node:stream"

/** run() without `nothrow` of a leader that exited non-zero: the output it captured, and the code. */
export class RunFailedError extends Error {
  readonly cmd: string[]
  readonly code: number
  readonly stdout: Buffer
  readonly stderr: Buffer
  /** `maxBuffer` cut stdout or stderr (false without `maxBuffer`). */
  readonly truncated: boolean

  constructor(cmd: string[], code: number, stdout: Buffer, stderr: Buffer, truncated = false) {
    const detail = stderr.toString().trim()
    super(`Command failed with code ${code}: ${cmd.join(" ")}` + (detail ? `\n${detail}` : ""))
    this.name = "ProcessRunFailedError"
    this.cmd = [...cmd]
    this.code = code
    this.stdout = stdout
    this.stderr = stderr
    this.truncated = truncated
  }
}

/** What `run` keeps of one output stream: everything, or the first `cap` bytes. */
export interface Captured {
  buffer: Buffer
  truncated: boolean
}

/**
 * Validates `maxBuffer` (undefined: no cap); throws like Node's validators. Shared by
 * both implementations so that they refuse the same values.
 */
export function checkMaxBuffer(v: unknown): number | undefined {
  if (v === undefined) return undefined
  if (typeof v !== "number" || Number.isNaN(v) || v < 0) {
    const err = new RangeError(`The value of "maxBuffer" is out of range. It must be a number >= 0. Received ${String(v)}`) as RangeError & { code: string }
    err.code = "ERR_OUT_OF_RANGE"
    throw err
  }
  return v
}

/**
 * Collects a stream's chunks, keeping at most `cap` bytes (undefined: all). The stream
 * is consumed to its end either way, so a child is never blocked by a full buffer.
 * Settles on 'end' or 'close' (a pipe destroyed without 'end' still ended); an 'error'
 * rejects with `errors: "reject"`, else settles with what was captured.
 */
export function collectCapped(stream: Readable, cap: number | undefined, errors: "reject" | "resolve" = "resolve"): Promise<Captured> {
  return new Promise<Captured>((resolve, reject) => {
    const chunks: Buffer[] = []
    let kept = 0
    let truncated = false
    stream.on("data", (chunk: Buffer | string) => {
      const b = typeof chunk === "string" ? Buffer.from(chunk) : chunk
      if (cap === undefined) {
        chunks.push(b)
        return
      }
      const room = cap - kept
      if (b.length > room) {
        truncated = true
        if (room > 0) chunks.push(b.subarray(0, room))
        kept = cap
        return
      }
      chunks.push(b)
      kept += b.length
    })
    // Settles once: 'end' and 'close' both come, and each concatenation is a copy of the
    // whole output (two of them put Process.run's peak at ~3× the output). The chunks are
    // let go as soon as they are joined.
    let settled = false
    const settle = (err?: Error) => {
      if (settled) return
      settled = true
      const buffer = err ? undefined : Buffer.concat(chunks)
      chunks.length = 0
      if (buffer) resolve({ buffer, truncated })
      else reject(err)
    }
    stream.once("end", () => settle())
    stream.once("close", () => settle())
    stream.once("error", (err) => settle(errors === "reject" ? err : undefined))
  })
}
