// The one resolver of the native files: finds the addon, the Go library and the helper
// (the override alone, else a local build/Release, else the platform package
// @pawwork-supervisor/<platform>-<arch>[-gnu|-musl]; app.asar → app.asar.unpacked), checks each
// before loading it (missing, architecture, executable, build id), hands the exact paths
// of the library and the helper down to the binding and the core, and checks that the
// addon and the Go library speak the ABI this facade was written for.
import * as fs from "node:fs"
import * as path from "node:path"

/**
 * The numbers of the C ABI this facade uses, as it expects them. go/capi/pws.h is
 * their source: the addon is compiled from it and exports them (`constants`, named
 * without the PWS_ prefix), and loadAddon() refuses an addon whose numbers differ
 * (checkConstants), so a change made in pws.h and not here fails at load, by name.
 */
export const ABI = Object.freeze({
  /** PWS_ABI_VERSION: also what the Go library must answer (abiVersion()). */
  ABI_VERSION: 3,
  EBADHANDLE: -1,
  EINVAL: -3,
  EV_STDOUT: 1,
  EV_STDERR: 2,
  EV_STDIN_ACK: 3,
  EV_EXIT: 4,
  EV_STDOUT_END: 5,
  EV_STDERR_END: 6,
  /** Only with holdLeftovers: the leader's exit and the end of its streams, before EV_EXIT (the tree empty). */
  EV_CLOSE: 7,
  /** Streams, for setFlow. */
  STREAM_STDOUT: 1,
  STREAM_STDERR: 2,
  REASON_ABORT: 1,
  REASON_TIMEOUT: 2,
  REASON_STOP: 3,
  REASON_HOST: 4,
  /** The largest time in milliseconds the core accepts (2^40, about 34 years). */
  MS_MAX: 2 ** 40,
  /** The grace when none is given: supervise()'s graceMs, Process's timeout (the baseline's). */
  DEFAULT_GRACE_MS: 5000,
  /** The drain bounds when none are given (supervise()'s drainIdleMs, drainMaxMs). */
  DEFAULT_DRAIN_IDLE_MS: 1000,
  DEFAULT_DRAIN_MAX_MS: 10000,
  /** The largest rows and cols of a terminal session (spawnTerminal, resize). */
  TERM_SIZE_MAX: 65535,
} as const)

export const {
  ABI_VERSION,
  EV_STDOUT,
  EV_STDERR,
  EV_STDIN_ACK,
  EV_EXIT,
  EV_STDOUT_END,
  EV_STDERR_END,
  EV_CLOSE,
  STREAM_STDOUT,
  STREAM_STDERR,
  REASON_ABORT,
  REASON_TIMEOUT,
  REASON_STOP,
  REASON_HOST,
  DEFAULT_GRACE_MS,
} = ABI

/** Negative returns of the C ABI (pws.h). */
export const PWS_EBADHANDLE = ABI.EBADHANDLE
export const PWS_EINVAL = ABI.EINVAL

/** One number of ABI that the addon has otherwise (undefined: it has none). */
export interface AbiMismatch {
  name: keyof typeof ABI
  expected: number
  actual: unknown
}

/**
 * The addon was built from another go/capi/pws.h than this facade was written for:
 * their numbers for events, reasons or limits differ, so they would misread each
 * other. `mismatches` lists each differing number.
 */
export class AbiMismatchError extends Error {
  readonly code = "ERR_PAWWORK_SUPERVISOR_ABI"
  constructor(readonly mismatches: AbiMismatch[]) {
    super(
      "pawwork-supervisor: the native addon was built from another go/capi/pws.h than this facade: " +
        mismatches.map((m) => `PWS_${m.name} is ${m.actual === undefined ? "missing" : String(m.actual)} there, ${m.expected} here`).join("; "),
    )
    this.name = "AbiMismatchError"
  }
}

/** Checks an addon's exported `constants` against ABI; throws AbiMismatchError on any difference. */
export function checkConstants(exported: unknown): void {
  const got = (typeof exported === "object" && exported !== null ? exported : {}) as Record<string, unknown>
  const mismatches: AbiMismatch[] = []
  for (const [name, expected] of Object.entries(ABI) as [keyof typeof ABI, number][]) {
    if (got[name] !== expected) mismatches.push({ name, expected, actual: got[name] })
  }
  if (mismatches.length > 0) throw new AbiMismatchError(mismatches)
}

/** How trees are contained (see containment() in index.ts). */
export interface ContainmentInfo {
  /** "helper": the per-host subreaper helper spawns and guards every tree (Linux).
   *  "fallback": no helper — session, group, /proc ancestry and the inherited marker only:
   *  a double-forked daemon that cleared its environment escapes a cancel, and nothing
   *  is cleaned up if the host dies. "job": Windows Job Objects. */
  mode: "helper" | "fallback" | "job"
  helperPid?: number
  helperPath?: string
  /** Why the helper is not used, when it is not. */
  reason?: string
  /** The helper's cgroup v2 subtree (each tree gets its own cgroup below it), when one is writable. */
  cgroup?: string
  /** Why there is no cgroup subtree (not writable without delegation, disabled, old kernel). */
  cgroupReason?: string
  /** What holds in this mode. */
  guarantees: string[]
}

/** payload: a Buffer of its own, or for a child given to transientOutput, an output chunk as a view valid only during the call. */
export type EventCallback = (type: number, aux: number, payload: Buffer | undefined) => void

/** What receives a native child's events. */
export type EventSink = { onEvent: EventCallback }

/** A process's state as the core sees it (pws_process_state). A zombie has ended: it only waits to be reaped. */
export type ProcessState = "gone" | "alive" | "zombie"

/** One native child (the binding's NativeChild): JS holds its integer handle only; the native side owns the rest. */
export interface NativeChild {
  readonly pid: number
  readonly handle: number
  write(data: Uint8Array, seq: number): number
  closeStdin(): number
  setFlow(stream: number, paused: boolean): number
  signal(sig: number, tree: boolean): number
  cancel(reason: number, sig: number, graceMs: number): number
  ref(): void
  unref(): void
}

export interface Addon {
  /** The numbers of go/capi/pws.h the addon was compiled with (see ABI). */
  readonly constants: Readonly<Record<string, number>>
  abiVersion(): number
  containment(): ContainmentInfo
  configure(json: string): void
  descendants(pid: number): number[]
  /** pid's state; throws on a pid that names no single process. */
  processState(pid: number): ProcessState
  /**
   * Sends sig to pid's group if pid leads one, to pid and to every descendant of the
   * core's tree walk, through the core's ownership checks (never pid ≤ 1, never the
   * host); returns the pids it signalled.
   */
  signalTree(pid: number, sig: number): number[]
  /** From now on the child's stdout and stderr chunks reach its onEvent as views valid only during the call (Process.run's captures copy them at once). */
  transientOutput(handle: number): void
  Child: new (request: Buffer, onEvent: EventCallback) => NativeChild
}

let cached: Addon | undefined
let cachedError: Error | undefined

/** The one variable that overrides where the native files are: the addon's path; the library and the helper must be beside it. */
export const ADDON_VAR = "PAWWORK_SUPERVISOR_ADDON"
const ADDON_NAME = "pawwork_supervisor.node"
const LIB_NAME =
  process.platform === "win32" ? "pawwork_supervisor.dll" : process.platform === "darwin" ? "libpawwork_supervisor.dylib" : "libpawwork_supervisor.so"
const HELPER_NAME = process.platform === "win32" ? "pawwork-supervisor-helper.exe" : "pawwork-supervisor-helper"

/** The exact files one place holds, as the resolver found them. */
export interface NativePaths {
  /** Where the three came from: "PAWWORK_SUPERVISOR_ADDON", "build" or the platform package's name. */
  origin: string
  addon: string
  library: string
  /** The per-host helper (Linux): handed down to the core, which reports a missing one in containment(). */
  helper: string
}

/** One file the resolver looked at, and why it would not do (undefined: it did). */
export interface Tried {
  path: string
  why?: string
}

/**
 * The native addon or its Go library could not be found or loaded. `tried` lists every
 * file looked at and why each would not do (missing, wrong architecture, not executable,
 * the loader's own message).
 */
export class NativeLoadError extends Error {
  readonly code = "ERR_PAWWORK_SUPERVISOR_LOAD"
  constructor(
    message: string,
    readonly tried: Tried[],
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = "NativeLoadError"
  }
}

/**
 * The runtime lacks a Node-API function the addon needs (`missing`): the addon cannot
 * run here at all. Use PAWWORK_SUPERVISOR=legacy for `Process`.
 */
export class RuntimeUnsupportedError extends Error {
  readonly code = "ERR_PAWWORK_SUPERVISOR_RUNTIME"
  constructor(
    readonly missing: string,
    readonly runtime: string,
    options?: { cause?: unknown },
  ) {
    super(`pawwork-supervisor: ${runtime} lacks the Node-API function ${missing} that the native addon needs; set PAWWORK_SUPERVISOR=legacy to run without it`, options)
    this.name = "RuntimeUnsupportedError"
  }
}

/**
 * The Go library is from another build than this facade (dist/build-id.json): they
 * were not built together, so they are not loaded together.
 */
export class BuildMismatchError extends Error {
  readonly code = "ERR_PAWWORK_SUPERVISOR_BUILD"
  constructor(
    readonly library: string,
    readonly expected: string,
    readonly actual: string | undefined,
  ) {
    super(`pawwork-supervisor: the native library ${library} is from another build (${actual ?? "no build id"}) than this facade (${expected})`)
    this.name = "BuildMismatchError"
  }
}

const BUILD_MARK = "pws-build-id:"

/** The build id stamped into dist/ by the Makefile, or undefined when running from sources that were never built. */
export function expectedBuildId(): string | undefined {
  try {
    const id = JSON.parse(fs.readFileSync(path.join(path.resolve(__dirname, ".."), "dist", "build-id.json"), "utf8")).buildId
    return typeof id === "string" && id.startsWith(BUILD_MARK) ? id : undefined
  } catch {
    return undefined
  }
}

/** The build id stamped into a library (wire.BuildID, found in its bytes), or undefined. */
export function libraryBuildId(file: string): string | undefined {
  const bytes = fs.readFileSync(file)
  const at = bytes.indexOf(BUILD_MARK)
  if (at < 0) return undefined
  const m = /^pws-build-id:[0-9a-f]+/.exec(bytes.subarray(at, at + BUILD_MARK.length + 64).toString("latin1"))
  return m?.[0]
}

/** The host runtime, as process.versions names it. */
export function runtimeName(): string {
  const v = process.versions as Record<string, string | undefined>
  if (v.bun) return `Bun ${v.bun}`
  if (v.deno) return `Deno ${v.deno}`
  if (v.electron) return `Electron ${v.electron}`
  return `Node ${process.version}`
}

/**
 * A path inside Electron's app.asar, moved to app.asar.unpacked: native files cannot be
 * loaded or run from inside the archive, and packers put them (asarUnpack) beside it.
 */
export function unpackedPath(p: string): string {
  return p.replace(/([\\/])app\.asar(?=[\\/]|$)/, "$1app.asar.unpacked")
}

const ELF_MACHINES: Record<number, string> = { 3: "ia32", 40: "arm", 62: "x64", 183: "arm64", 243: "riscv64", 8: "mips", 21: "ppc64", 22: "s390x", 258: "loong64" }
const MACHO_CPUS: Record<number, string> = { 0x01000007: "x64", 0x0100000c: "arm64", 7: "ia32", 12: "arm" }
const PE_MACHINES: Record<number, string> = { 0x8664: "x64", 0xaa64: "arm64", 0x14c: "ia32", 0x1c4: "arm" }
const FORMAT_OF: Record<string, string> = { linux: "ELF", android: "ELF", freebsd: "ELF", openbsd: "ELF", sunos: "ELF", darwin: "Mach-O", win32: "PE" }

/** A binary's format and architecture from its header (ELF, Mach-O, PE), or why it has none. */
export function binaryKind(file: string): { format: string; arch: string } | { error: string } {
  let head: Buffer
  try {
    const fd = fs.openSync(file, "r")
    try {
      head = Buffer.alloc(4096)
      head = head.subarray(0, fs.readSync(fd, head, 0, head.length, 0))
    } finally {
      fs.closeSync(fd)
    }
  } catch (err) {
    return { error: (err as NodeJS.ErrnoException).code === "ENOENT" ? "missing" : `unreadable: ${(err as Error).message}` }
  }
  if (head.length >= 20 && head.readUInt32BE(0) === 0x7f454c46) {
    const m = head[5] === 2 ? head.readUInt16BE(18) : head.readUInt16LE(18)
    return { format: "ELF", arch: ELF_MACHINES[m] ?? `machine ${m}` }
  }
  if (head.length >= 8 && (head.readUInt32LE(0) === 0xfeedfacf || head.readUInt32LE(0) === 0xfeedface)) {
    const cpu = head.readInt32LE(4)
    return { format: "Mach-O", arch: MACHO_CPUS[cpu] ?? `cputype ${cpu}` }
  }
  if (head.length >= 8 && head.readUInt32BE(0) === 0xcafebabe) {
    // A universal binary: every architecture it holds.
    const n = head.readUInt32BE(4)
    const archs: string[] = []
    for (let k = 0; k < n && 8 + 20 * k + 4 <= head.length; k++) archs.push(MACHO_CPUS[head.readInt32BE(8 + 20 * k)] ?? "other")
    return { format: "Mach-O", arch: archs.join("+") }
  }
  if (head.length >= 64 && head.readUInt16LE(0) === 0x5a4d) {
    const pe = head.readUInt32LE(0x3c)
    if (pe + 6 <= head.length && head.readUInt32LE(pe) === 0x4550) {
      const m = head.readUInt16LE(pe + 4)
      return { format: "PE", arch: PE_MACHINES[m] ?? `machine 0x${m.toString(16)}` }
    }
  }
  return { error: "not a native binary (no ELF, Mach-O or PE header)" }
}

/** Why file will not do as a binary for this platform and architecture, or undefined if it will. */
export function checkBinary(file: string, opts: { executable?: boolean } = {}): string | undefined {
  const kind = binaryKind(file)
  if ("error" in kind) return kind.error
  const format = FORMAT_OF[process.platform]
  if ((format && kind.format !== format) || !kind.arch.split("+").includes(process.arch)) {
    return `wrong architecture: ${kind.format} ${kind.arch}, this process is ${process.platform}-${process.arch}`
  }
  if (opts.executable && process.platform !== "win32") {
    try {
      fs.accessSync(file, fs.constants.X_OK)
    } catch {
      return "not executable"
    }
  }
  return undefined
}

/** The targets a platform package is published for (scripts/packages/build.sh). */
export const PREBUILT_TARGETS = ["linux-x64-gnu", "linux-arm64-gnu", "linux-x64-musl", "darwin-x64", "darwin-arm64", "win32-x64"] as const

/** The ELF interpreter a 64-bit binary asks for (PT_INTERP), or undefined (static, unreadable, not a 64-bit ELF). */
export function elfInterpreter(file: string): string | undefined {
  let fd: number | undefined
  try {
    fd = fs.openSync(file, "r")
    const head = Buffer.alloc(64)
    if (fs.readSync(fd, head, 0, 64, 0) < 64 || head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2) return undefined
    const le = head[5] === 1
    const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o))
    const u64 = (b: Buffer, o: number) => Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o))
    const phoff = u64(head, 32)
    const phentsize = u16(head, 54)
    const phnum = u16(head, 56)
    if (phnum > 64 || phentsize < 56) return undefined
    const ph = Buffer.alloc(phentsize * phnum)
    fs.readSync(fd, ph, 0, ph.length, phoff)
    for (let i = 0; i < phnum; i++) {
      const at = i * phentsize
      if ((le ? ph.readUInt32LE(at) : ph.readUInt32BE(at)) !== 3) continue // PT_INTERP
      const off = u64(ph, at + 8)
      const size = Math.min(u64(ph, at + 32), 256)
      const name = Buffer.alloc(size)
      fs.readSync(fd, name, 0, size, off)
      return name.toString("latin1").replace(/\0.*$/s, "")
    }
    return undefined
  } catch {
    return undefined
  } finally {
    if (fd !== undefined) fs.closeSync(fd)
  }
}

/**
 * The C library of this Linux process: "musl" or "glibc". Cheap and runtime-neutral (no
 * process.report, which Bun and Deno lack or fill differently and which costs
 * milliseconds in Node): the runtime executable's ELF interpreter (ld-musl-* or
 * ld-linux-*), else the libraries mapped into this process, else glibc.
 */
export function linuxLibc(): "glibc" | "musl" {
  const interp = elfInterpreter(process.execPath)
  if (interp) return /ld-musl-/.test(interp) ? "musl" : "glibc"
  try {
    const maps = fs.readFileSync("/proc/self/maps", "latin1")
    if (/\/ld-musl-[^/\s]*\.so|\/libc\.musl-/.test(maps)) return "musl"
    if (/\/libc\.so\.6|\/libc-2\.\d+\.so/.test(maps)) return "glibc"
  } catch {
    // no /proc: fall through
  }
  return "glibc"
}

/** The platform package's target for this process (e.g. "linux-x64-gnu"), prebuilt or not. */
export function platformTarget(): string {
  const base = `${process.platform}-${process.arch}`
  return process.platform === "linux" ? `${base}-${linuxLibc() === "musl" ? "musl" : "gnu"}` : base
}

/** What to do where nothing was found: the same sentence in every load error. */
function noPrebuiltAdvice(target: string): string {
  const prebuilt = (PREBUILT_TARGETS as readonly string[]).includes(target)
  return (
    (prebuilt
      ? `The prebuilt package @pawwork-supervisor/${target} is an optional dependency of pawwork-supervisor: reinstall without --omit=optional / --no-optional (and, with Electron, asarUnpack its folder).`
      : `There is no prebuilt package for ${target} (prebuilt: ${PREBUILT_TARGETS.join(", ")}): build from source (make) and point ${ADDON_VAR} at build/Release/${ADDON_NAME}.`) +
    ` Without the native addon, PAWWORK_SUPERVISOR=legacy runs Process on child_process (no tree containment); supervise() needs the addon.`
  )
}

/** The places the native files are looked for, in order: the override alone when it is set. */
export function nativeCandidates(): NativePaths[] {
  const at = (origin: string, dir: string, addon: string): NativePaths => ({
    origin,
    addon: unpackedPath(addon),
    library: unpackedPath(path.join(dir, LIB_NAME)),
    helper: unpackedPath(path.join(dir, HELPER_NAME)),
  })
  const override = process.env[ADDON_VAR]
  if (override) {
    const addon = path.resolve(override)
    return [at(ADDON_VAR, path.dirname(addon), addon)]
  }
  const out: NativePaths[] = []
  // A checkout that was built (make): its own files first, so a developer's build wins.
  const dir = path.join(path.resolve(__dirname, ".."), "build", "Release")
  if (fs.existsSync(unpackedPath(dir))) out.push(at("build", dir, path.join(dir, ADDON_NAME)))
  // The platform package, wherever the package manager put it (hoisted or nested).
  const name = `@pawwork-supervisor/${platformTarget()}`
  let pkgDir: string
  try {
    pkgDir = path.dirname(require.resolve(`${name}/package.json`))
  } catch {
    // Not installed: reported where it would be, beside this package or (a checkout) below it.
    const nm = path.resolve(__dirname, "..", "..")
    pkgDir = path.basename(nm) === "node_modules" ? path.join(nm, ...name.split("/")) : path.join(path.resolve(__dirname, ".."), "node_modules", ...name.split("/"))
  }
  out.push(at(name, pkgDir, path.join(pkgDir, ADDON_NAME)))
  return out
}

/** The build id a platform package says it holds (its build-id.json), or undefined. */
function packageBuildId(dir: string): string | undefined {
  try {
    const id = JSON.parse(fs.readFileSync(path.join(dir, "build-id.json"), "utf8")).buildId
    return typeof id === "string" ? id : undefined
  } catch {
    return undefined
  }
}

/** Places the addon is looked for, in order. */
export function addonCandidates(): string[] {
  return nativeCandidates().map((c) => c.addon)
}

/**
 * The library was not loaded for want of threads (the binding's EAGAIN, see
 * binding/loader.h): an addon whose every call fails with a fresh copy of that error,
 * so that a spawn fails like any spawn EAGAIN. Not cached: the next loadAddon() tries
 * again.
 */
function refusing(err: NodeJS.ErrnoException): Addon {
  // A function, not an arrow: `new addon.Child(…)` must reach the throw.
  function fail(): never {
    throw Object.assign(new Error(err.message), { code: err.code, errno: err.errno, syscall: err.syscall })
  }
  return { constants: ABI, abiVersion: fail, containment: fail, configure: fail, descendants: fail, processState: fail, signalTree: fail, transientOutput: fail, Child: fail as unknown as Addon["Child"] }
}

/**
 * Starts a leader for a spawn request (a supervised child or a terminal session). A
 * listener of the app that throws (a 'data' or 'exit' handler) surfaces as an uncaught
 * exception, as it would from child_process — not inside the thread-safe function, where
 * Node-API only prints a deprecation warning. A spawn failure throws.
 */
export function startNative(request: object, target: EventSink): NativeChild {
  // One closure per child: the binding calls it with each event.
  return new (loadAddon().Child)(Buffer.from(JSON.stringify(request)), (type, aux, payload) => {
    try {
      target.onEvent(type, aux, payload)
    } catch (err) {
      process.nextTick(() => {
        throw err
      })
    }
  })
}

/** The paths loadAddon() used, once it has loaded. */
export let loadedPaths: NativePaths | undefined

/** Loads the addon once; every later call returns it or throws the same error. */
export function loadAddon(): Addon {
  if (cached) return cached
  if (cachedError) throw cachedError
  const tried: Tried[] = []
  let cause: Error | undefined
  for (const c of nativeCandidates()) {
    // A .js stand-in (tests) has no header to read.
    const addonWhy = c.addon.endsWith(".node") ? checkBinary(c.addon) : fs.existsSync(c.addon) ? undefined : "missing"
    if (addonWhy === "missing" && c.origin.startsWith("@pawwork-supervisor/") && !fs.existsSync(path.dirname(c.addon))) {
      tried.push({ path: path.dirname(c.addon), why: `${c.origin} is not installed` })
      continue
    }
    tried.push({ path: c.addon, why: addonWhy })
    let libWhy = checkBinary(c.library)
    const expected = expectedBuildId()
    const pkgId = c.origin.startsWith("@pawwork-supervisor/") ? packageBuildId(path.dirname(c.library)) : undefined
    if (!libWhy && expected && pkgId && pkgId !== expected) {
      // The package's own word (build-id.json), before reading the library's bytes.
      libWhy = `another build (${c.origin} says ${pkgId}; this facade: ${expected})`
      if (!cause) cause = new BuildMismatchError(c.library, expected, pkgId)
    }
    if (!libWhy && expected) {
      // Before the library is loaded: a Go runtime, once loaded, cannot be unloaded.
      const actual = libraryBuildId(c.library)
      if (actual !== expected) {
        const mismatch = new BuildMismatchError(c.library, expected, actual)
        libWhy = `another build (${actual ?? "no build id"}; this facade: ${expected})`
        if (!cause) cause = mismatch
      }
    }
    tried.push({ path: c.library, why: libWhy })
    if (addonWhy || libWhy) continue
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const addon = require(c.addon) as Addon & { setLibraryPath?(p: string): void }
      checkConstants(addon.constants)
      addon.setLibraryPath?.(c.library)
      const abi = addon.abiVersion()
      if (abi !== ABI_VERSION) {
        tried[tried.length - 1].why = `native ABI ${abi}, this facade needs ${ABI_VERSION}`
        continue
      }
      // The Go library saw the environment as it was when it loaded; pass the helper
      // choice as the host's environment says it now, and the helper the resolver found.
      addon.configure(
        JSON.stringify({ helper: process.env.PAWWORK_SUPERVISOR_HELPER ?? "", cgroup: process.env.PAWWORK_SUPERVISOR_CGROUP ?? "", helperPath: c.helper }),
      )
      cached = addon
      loadedPaths = c
      return addon
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EAGAIN") return refusing(err as NodeJS.ErrnoException)
      // The binding's own check (binding/loader.h MissingNodeApi), or a host whose
      // dlopen resolves eagerly and names the symbol.
      const missing =
        (err as NodeJS.ErrnoException).code === "ERR_PAWWORK_SUPERVISOR_RUNTIME"
          ? String((err as { missing?: unknown }).missing)
          : /undefined symbol: ((?:napi|node_api|node)_\w+)/.exec((err as Error).message)?.[1]
      if (missing) {
        cachedError = new RuntimeUnsupportedError(missing, runtimeName(), { cause: err })
        throw cachedError
      }
      if (err instanceof AbiMismatchError || !cause) cause = err as Error
      // The binding's own load error is the library's; any other (require, ABI) the addon's.
      const onLibrary = (err as NodeJS.ErrnoException).code === "ERR_PAWWORK_SUPERVISOR_LOAD"
      tried[tried.length - (onLibrary ? 1 : 2)].why = (err as Error).message
    }
  }
  const override = process.env[ADDON_VAR]
  cachedError = new NativeLoadError(
    "pawwork-supervisor: could not load the native addon. Tried:\n  " +
      tried.map((t) => `${t.path}: ${t.why ?? "ok"}`).join("\n  ") +
      (override
        ? `\n${ADDON_VAR} is set: the addon it names must have ${LIB_NAME} beside it; nothing else is tried.`
        : `\n${noPrebuiltAdvice(platformTarget())}`),
    tried,
    cause ? { cause } : undefined,
  )
  throw cachedError
}
