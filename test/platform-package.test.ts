// lib/addon.ts's platform-package step: an installed pawwork-supervisor with no build/ of
// its own finds @pawwork-supervisor/<platform>-<arch>-<libc> through require.resolve,
// refuses one with a wrong architecture or another build id (its build-id.json), and when
// none is installed throws a NativeLoadError naming where it looked and what to do
// (PAWWORK_SUPERVISOR=legacy). Each load in a fresh host (loadAddon caches), from a copy
// of dist/ laid out as npm lays out an install.
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { elfInterpreter, linuxLibc, platformTarget } from "../lib/addon"
import { ROOT } from "./native-helpers"

const RELEASE = path.join(ROOT, "build", "Release")
const FILES = ["pawwork_supervisor.node", "libpawwork_supervisor.so", "pawwork-supervisor-helper"]
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pws-platform-pkg-"))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))
const buildId = JSON.parse(fs.readFileSync(path.join(ROOT, "dist", "build-id.json"), "utf8")).buildId as string

/** project/node_modules/pawwork-supervisor (dist/ only) and, unless pkg is undefined, the platform package. */
function install(name: string, pkg?: { files?: string[]; buildId?: string; addon?: Buffer }): { project: string; pkgDir: string } {
  const project = path.join(tmp, name)
  const main = path.join(project, "node_modules", "pawwork-supervisor")
  fs.cpSync(path.join(ROOT, "dist"), path.join(main, "dist"), { recursive: true })
  fs.writeFileSync(path.join(main, "package.json"), JSON.stringify({ name: "pawwork-supervisor", version: "0.0.0", main: "dist/index.js" }))
  const pkgDir = path.join(project, "node_modules", "@pawwork-supervisor", "linux-x64-gnu")
  if (pkg) {
    fs.mkdirSync(pkgDir, { recursive: true })
    for (const f of pkg.files ?? FILES) fs.copyFileSync(path.join(RELEASE, f), path.join(pkgDir, f))
    if (pkg.addon) fs.writeFileSync(path.join(pkgDir, "pawwork_supervisor.node"), pkg.addon)
    fs.writeFileSync(path.join(pkgDir, "package.json"), JSON.stringify({ name: "@pawwork-supervisor/linux-x64-gnu", version: "0.0.0" }))
    fs.writeFileSync(path.join(pkgDir, "build-id.json"), JSON.stringify({ buildId: pkg.buildId ?? buildId }))
  }
  return { project, pkgDir }
}

interface Loaded {
  loaded?: boolean
  mode?: string
  helperPath?: string
  origin?: string
  code?: string
  message?: string
  tried?: { path: string; why?: string }[]
  cause?: { name?: string; actual?: string }
}

/** Loads the installed facade in a fresh host, from the project's directory, without the override. */
function load(project: string): Loaded {
  const script = `const pws = require("pawwork-supervisor")
try { const c = pws.containment(); console.log(JSON.stringify({ loaded: true, mode: c.mode, helperPath: c.helperPath, origin: require("pawwork-supervisor/dist/addon.js").loadedPaths.origin })) }
catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message, tried: e.tried, cause: e.cause && { name: e.cause.name, actual: e.cause.actual } })) }`
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env.PAWWORK_SUPERVISOR_ADDON
  // The facade's own dependencies (cross-spawn) from the checkout; nothing named @pawwork-supervisor is there.
  env.NODE_PATH = path.join(ROOT, "node_modules")
  return JSON.parse(execFileSync(process.execPath, ["-e", script], { cwd: project, env, timeout: 30_000 }).toString())
}

/** A 64-byte ELF header for machine m (little-endian, 64-bit). */
function elfHeader(m: number): Buffer {
  const b = Buffer.alloc(64)
  b.writeUInt32BE(0x7f454c46, 0)
  b[4] = 2
  b[5] = 1
  b.writeUInt16LE(3, 16)
  b.writeUInt16LE(m, 18)
  return b
}

describe.runIf(process.platform === "linux" && process.arch === "x64")("the platform package", () => {
  it("this process is linux-x64-gnu (its runtime's ELF interpreter is glibc's)", () => {
    expect(linuxLibc()).toBe("glibc")
    expect(platformTarget()).toBe("linux-x64-gnu")
  })

  it("musl is told from glibc by the runtime's ELF interpreter", () => {
    // A minimal 64-bit ELF: the header and one PT_INTERP program header naming musl's loader.
    const interp = Buffer.from("/lib/ld-musl-x86_64.so.1\0", "latin1")
    const b = Buffer.alloc(64 + 56 + interp.length)
    b.writeUInt32BE(0x7f454c46, 0)
    b[4] = 2 // 64-bit
    b[5] = 1 // little-endian
    b.writeUInt16LE(2, 16) // ET_EXEC
    b.writeUInt16LE(62, 18) // x86-64
    b.writeBigUInt64LE(64n, 32) // e_phoff
    b.writeUInt16LE(56, 54) // e_phentsize
    b.writeUInt16LE(1, 56) // e_phnum
    b.writeUInt32LE(3, 64) // p_type PT_INTERP
    b.writeBigUInt64LE(120n, 64 + 8) // p_offset
    b.writeBigUInt64LE(BigInt(interp.length), 64 + 32) // p_filesz
    interp.copy(b, 120)
    const musl = path.join(tmp, "musl-exe")
    fs.writeFileSync(musl, b)
    expect(elfInterpreter(musl)).toBe("/lib/ld-musl-x86_64.so.1")
    expect(elfInterpreter(process.execPath)).toMatch(/\/ld-linux-x86-64\.so\.2$/)
    // Static (the helper): no interpreter.
    expect(elfInterpreter(path.join(RELEASE, "pawwork-supervisor-helper"))).toBeUndefined()
  })

  it("is found through node_modules and its helper is the one handed down", () => {
    const { project, pkgDir } = install("ok", {})
    expect(load(project)).toMatchObject({ loaded: true, mode: "helper", origin: "@pawwork-supervisor/linux-x64-gnu", helperPath: path.join(pkgDir, "pawwork-supervisor-helper") })
  })

  it("not installed: an error naming where it looked, and PAWWORK_SUPERVISOR=legacy", () => {
    const { project, pkgDir } = install("absent")
    const out = load(project)
    expect(out.code).toBe("ERR_PAWWORK_SUPERVISOR_LOAD")
    expect(out.tried).toEqual([{ path: pkgDir, why: "@pawwork-supervisor/linux-x64-gnu is not installed" }])
    expect(out.message).toContain("--omit=optional")
    expect(out.message).toContain("PAWWORK_SUPERVISOR=legacy")
  })

  it("an addon for another architecture is refused by name", () => {
    const { project, pkgDir } = install("arm64-addon", { addon: elfHeader(183) })
    const out = load(project)
    expect(out.code).toBe("ERR_PAWWORK_SUPERVISOR_LOAD")
    expect(out.tried?.[0]).toEqual({ path: path.join(pkgDir, "pawwork_supervisor.node"), why: "wrong architecture: ELF arm64, this process is linux-x64" })
  })

  it("a package from another build is refused before its library is loaded", () => {
    const { project, pkgDir } = install("other-build", { buildId: "pws-build-id:0123456789abcdef" })
    const out = load(project)
    expect(out.code).toBe("ERR_PAWWORK_SUPERVISOR_LOAD")
    expect(out.tried?.[1]?.path).toBe(path.join(pkgDir, "libpawwork_supervisor.so"))
    expect(out.tried?.[1]?.why).toContain("another build (@pawwork-supervisor/linux-x64-gnu says pws-build-id:0123456789abcdef")
    expect(out.cause).toEqual({ name: "BuildMismatchError", actual: "pws-build-id:0123456789abcdef" })
  })
})
