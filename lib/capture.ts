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

// Up to LIST_MAX bytes a stream's chunks are kept as they come and joined once at the end
// (most outputs are small). Past it they are copied, as they come, into one resizable
// ArrayBuffer whose address space is reserved up front and whose pages are committed only
// as bytes arrive: the result is a view of it, so the output is never held twice (a list of
// chunks joined at the end peaks at twice the output, plus the garbage chunks). A
// reservation outgrown is replaced by one 8× larger (one copy); a runtime that refuses the
// reservation gets the list.
const LIST_MAX = 1 << 20
const RESERVE_MIN = 256 * 2 ** 20
const GROW_STEP = 4 * 2 ** 20
// ES2024's resizable ArrayBuffer (Node ≥ 20, Bun, Deno), typed here: the facade compiles against ES2022.
type Reservation = ArrayBuffer & { readonly maxByteLength: number; readonly resizable: boolean; resize(n: number): void }
const Reserve = ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => Reservation

class Sink {
  private chunks: Uint8Array[] = []
  private ab: Reservation | undefined
  private bytes: Uint8Array | undefined
  private listOnly = false
  len = 0

  /** copy: the chunks pushed are transient views (valid only during push), so any kept is copied. */
  constructor(private readonly copy = false) {}

  push(b: Uint8Array): void {
    if (this.ab === undefined && (this.listOnly || this.len + b.length <= LIST_MAX)) {
      this.keep(b)
      return
    }
    if (!this.room(this.len + b.length)) {
      this.keep(b)
      return
    }
    this.bytes!.set(b, this.len)
    this.len += b.length
  }

  private keep(b: Uint8Array): void {
    this.chunks.push(this.copy ? Uint8Array.prototype.slice.call(b) : b)
    this.len += b.length
  }

  /** Makes the reservation hold `need` bytes; false when the runtime refuses one (then the list it is). */
  private room(need: number): boolean {
    const ab = this.ab
    if (ab !== undefined && need <= ab.byteLength) return true
    if (ab !== undefined && need <= ab.maxByteLength) {
      // Grown in steps of GROW_STEP: growing commits pages that cost only once written,
      // but take()'s shrink to the length zeroes (so touches) everything past it —
      // measured: 1.5× steps left up to a third of the output to be touched at the end.
      ab.resize(Math.min(ab.maxByteLength, Math.max(need, ab.byteLength + GROW_STEP)))
      this.bytes = new Uint8Array(ab)
      return true
    }
    let next: Reservation
    try {
      const max = Math.max(RESERVE_MIN, (ab?.maxByteLength ?? 0) * 8, need * 2)
      next = new Reserve(need, { maxByteLength: max })
      if (!next.resizable) throw new Error("no resizable ArrayBuffer")
    } catch {
      if (ab === undefined) this.listOnly = true
      else {
        this.chunks = [Buffer.from(ab, 0, this.len)]
        this.ab = this.bytes = undefined
        this.listOnly = true
      }
      return false
    }
    const bytes = new Uint8Array(next)
    if (ab !== undefined) bytes.set(this.bytes!.subarray(0, this.len))
    else {
      let off = 0
      for (const c of this.chunks) {
        bytes.set(c, off)
        off += c.length
      }
      this.chunks = []
    }
    this.ab = next
    this.bytes = bytes
    return true
  }

  /** The bytes kept, as one Buffer; the sink is empty afterwards. */
  take(): Buffer {
    const ab = this.ab
    const chunks = this.chunks
    this.ab = this.bytes = undefined
    this.chunks = []
    if (ab === undefined) return Buffer.concat(chunks, this.len)
    ab.resize(this.len) // the result is exactly its bytes (this zeroes what is past them: under GROW_STEP)
    return Buffer.from(ab, 0, this.len)
  }
}

/**
 * One stream's capture: keeps at most `cap` bytes (undefined: all) of what is pushed,
 * and says whether the cap cut it. With `transient`, each chunk pushed is a view that is
 * valid only during push() (Process.run's native output: copied at once into the
 * capture's buffer, so that no chunk of its own is ever made, nor left as garbage).
 */
export class Capture {
  private readonly sink: Sink
  truncated = false

  constructor(private readonly cap: number | undefined, transient = false) {
    this.sink = new Sink(transient)
  }

  push(b: Uint8Array): void {
    const cap = this.cap
    if (cap === undefined) {
      this.sink.push(b)
      return
    }
    const room = cap - this.sink.len
    if (b.length > room) {
      this.truncated = true
      if (room > 0) this.sink.push(b.subarray(0, room))
      return
    }
    this.sink.push(b)
  }

  /** What was captured; the capture is empty afterwards. */
  take(): Captured {
    return { buffer: this.sink.take(), truncated: this.truncated }
  }
}

/**
 * Collects a stream's chunks, keeping at most `cap` bytes (undefined: all). The stream
 * is consumed to its end either way, so a child is never blocked by a full buffer.
 * Settles on 'end' or 'close' (a pipe destroyed without 'end' still ended); an 'error'
 * rejects with `errors: "reject"`, else settles with what was captured.
 */
export function collectCapped(stream: Readable, cap: number | undefined, errors: "reject" | "resolve" = "resolve"): Promise<Captured> {
  return new Promise<Captured>((resolve, reject) => {
    const capture = new Capture(cap)
    stream.on("data", (chunk: Buffer | string) => capture.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk))
    // Settles once: 'end' and 'close' both come, and the bytes are taken once.
    let settled = false
    const settle = (err?: Error) => {
      if (settled) return
      settled = true
      if (err) reject(err)
      else resolve(capture.take())
    }
    stream.once("end", () => settle())
    stream.once("close", () => settle())
    stream.once("error", (err) => settle(errors === "reject" ? err : undefined))
  })
}
