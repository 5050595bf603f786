// lib/addon.ts's resolver: one override (PAWWORK_SUPERVISOR_ADDON) that is never replaced
// by another addon, Electron's app.asar → app.asar.unpacked, a header check that names a
// wrong architecture, and the exact library and helper paths handed down (an install
// path with two spaces in a row keeps the helper: the library no longer finds itself by
// splitting /proc/self/maps on whitespace). Each load in a fresh host: loadAddon caches.
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { binaryKind, checkBinary, unpackedPath } from "../lib/addon"
import { ROOT } from "./native-helpers"

const RELEASE = path.join(ROOT, "build", "Release")
const FILES = ["pawwork_supervisor.node", "libpawwork_supervisor.so", "pawwork-supervisor-helper"]
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pws-resolver-"))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

/** A directory holding copies of the given native files (modes kept). */
function nativeDir(dir: string, files = FILES): string {
  fs.mkdirSync(dir, { recursive: true })
  for (const f of files) fs.copyFileSync(path.join(RELEASE, f), path.join(dir, f))
  return dir
}

interface Loaded {
  loaded?: boolean
  mode?: string
  reason?: string
  helperPath?: string
  helperPid?: number
  code?: string
  name?: string
  message?: string
  tried?: { path: string; why?: string }[]
}

/** Loads the built facade in a fresh host with PAWWORK_SUPERVISOR_ADDON = addon; what it saw. */
function loadWith(addon: string): Loaded {
  const script = `const pws = require(${JSON.stringify(path.join(ROOT, "dist", "index.js"))})
try { const c = pws.containment(); console.log(JSON.stringify({ loaded: true, mode: c.mode, reason: c.reason, helperPath: c.helperPath, helperPid: c.helperPid })) }
catch (e) { console.log(JSON.stringify({ code: e.code, name: e.name, message: e.message, tried: e.tried })) }`
  return JSON.parse(execFileSync(process.execPath, ["-e", script], { env: { ...process.env, PAWWORK_SUPERVISOR_ADDON: addon }, timeout: 30_000 }).toString())
}

/** A 64-byte ELF header for machine m (little-endian, 64-bit): enough for binaryKind. */
function elfHeader(m: number): Buffer {
  const b = Buffer.alloc(64)
  b.writeUInt32BE(0x7f454c46, 0)
  b[4] = 2
  b[5] = 1
  b.writeUInt16LE(3, 16) // ET_DYN
  b.writeUInt16LE(m, 18)
  return b
}

describe.runIf(process.platform === "linux" && process.arch === "x64")("the resolver", () => {
  it("reads the architecture of the built files from their headers", () => {
    for (const f of FILES) expect(binaryKind(path.join(RELEASE, f))).toEqual({ format: "ELF", arch: "x64" })
    expect(checkBinary(path.join(RELEASE, "pawwork-supervisor-helper"), { executable: true })).toBeUndefined()
  })

  it("an install path with two spaces in a row keeps the helper's containment", () => {
    const dir = nativeDir(path.join(tmp, "two  spaces", "a  b"))
    const out = loadWith(path.join(dir, "pawwork_supervisor.node"))
    expect(out).toMatchObject({ loaded: true, mode: "helper", helperPath: path.join(dir, "pawwork-supervisor-helper") })
  })

  it("an addon for another architecture is refused by name, before it is loaded", () => {
    const dir = nativeDir(path.join(tmp, "arm64"), ["libpawwork_supervisor.so", "pawwork-supervisor-helper"])
    const addon = path.join(dir, "pawwork_supervisor.node")
    fs.writeFileSync(addon, elfHeader(183))
    const out = loadWith(addon)
    expect(out.code).toBe("ERR_PAWWORK_SUPERVISOR_LOAD")
    expect(out.name).toBe("NativeLoadError")
    expect(out.message).toContain(`${addon}: wrong architecture: ELF arm64, this process is linux-x64`)
    expect(out.tried).toEqual([
      { path: addon, why: "wrong architecture: ELF arm64, this process is linux-x64" },
      { path: path.join(dir, "libpawwork_supervisor.so") },
    ])
  })

  it("the override's addon without its library beside it is an error listing what was tried, never the built-in one", () => {
    const dir = nativeDir(path.join(tmp, "alone"), ["pawwork_supervisor.node"])
    const addon = path.join(dir, "pawwork_supervisor.node")
    const out = loadWith(addon)
    expect(out.code).toBe("ERR_PAWWORK_SUPERVISOR_LOAD")
    expect(out.tried).toEqual([{ path: addon }, { path: path.join(dir, "libpawwork_supervisor.so"), why: "missing" }])
    expect(out.message).toContain("PAWWORK_SUPERVISOR_ADDON is set: the addon it names must have libpawwork_supervisor.so beside it; nothing else is tried.")
    expect(out.message).not.toContain(RELEASE)
  })

  it("a library that is not a binary is named as such", () => {
    const dir = nativeDir(path.join(tmp, "text-lib"), ["pawwork_supervisor.node"])
    fs.writeFileSync(path.join(dir, "libpawwork_supervisor.so"), "not a library\n")
    const out = loadWith(path.join(dir, "pawwork_supervisor.node"))
    expect(out.tried?.[1]).toEqual({ path: path.join(dir, "libpawwork_supervisor.so"), why: "not a native binary (no ELF, Mach-O or PE header)" })
  })

  it("a helper that is not executable leaves the library loaded and containment() says why", () => {
    const dir = nativeDir(path.join(tmp, "noexec"))
    fs.chmodSync(path.join(dir, "pawwork-supervisor-helper"), 0o644)
    const out = loadWith(path.join(dir, "pawwork_supervisor.node"))
    expect(out.loaded).toBe(true)
    expect(out.mode).toBe("fallback")
    expect(out.reason).toMatch(/permission denied/)
  })

  it("Electron's app.asar paths are loaded from app.asar.unpacked", () => {
    expect(unpackedPath("/opt/App/resources/app.asar/node_modules/x/a.node")).toBe("/opt/App/resources/app.asar.unpacked/node_modules/x/a.node")
    expect(unpackedPath("C:\\App\\resources\\app.asar\\x.node")).toBe("C:\\App\\resources\\app.asar.unpacked\\x.node")
    expect(unpackedPath("/opt/app.asar.unpacked/x.node")).toBe("/opt/app.asar.unpacked/x.node")
    expect(unpackedPath("/opt/my.app.asar.d/x.node")).toBe("/opt/my.app.asar.d/x.node")
    // As an app packed with asarUnpack lays the files out: the facade's own path is inside
    // app.asar, the native files only in app.asar.unpacked.
    const resources = path.join(tmp, "resources")
    const unpacked = nativeDir(path.join(resources, "app.asar.unpacked", "build", "Release"))
    const out = loadWith(path.join(resources, "app.asar", "build", "Release", "pawwork_supervisor.node"))
    expect(out).toMatchObject({ loaded: true, mode: "helper", helperPath: path.join(unpacked, "pawwork-supervisor-helper") })
  })
})

/** Copies file with its build id's hash replaced by another of the same length (the binary stays valid). */
function otherBuild(file: string): string {
  const bytes = fs.readFileSync(file)
  const at = bytes.indexOf("pws-build-id:")
  expect(at).toBeGreaterThanOrEqual(0)
  bytes.write("0123456789abcdef", at + "pws-build-id:".length, "latin1")
  fs.writeFileSync(file, bytes)
  return "pws-build-id:0123456789abcdef"
}

describe.runIf(process.platform === "linux" && process.arch === "x64")("the build id", () => {
  const expected = JSON.parse(fs.readFileSync(path.join(ROOT, "dist", "build-id.json"), "utf8")).buildId as string

  it("is stamped into dist/, the library and the helper alike", () => {
    expect(expected).toMatch(/^pws-build-id:[0-9a-f]{16}$/)
    for (const f of ["libpawwork_supervisor.so", "pawwork-supervisor-helper"]) {
      expect(fs.readFileSync(path.join(RELEASE, f)).includes(expected), f).toBe(true)
    }
  })

  it("a library from another build is refused before it is loaded, with a typed cause", () => {
    const dir = nativeDir(path.join(tmp, "other-lib"))
    const lib = path.join(dir, "libpawwork_supervisor.so")
    const other = otherBuild(lib)
    const script = `const pws = require(${JSON.stringify(path.join(ROOT, "dist", "index.js"))})
try { pws.containment(); console.log(JSON.stringify({ loaded: true })) }
catch (e) { console.log(JSON.stringify({ code: e.code, tried: e.tried, cause: e.cause && { name: e.cause.name, code: e.cause.code, expected: e.cause.expected, actual: e.cause.actual }, maps: require("fs").readFileSync("/proc/self/maps", "utf8").includes(${JSON.stringify(lib)}) })) }`
    const out = JSON.parse(
      execFileSync(process.execPath, ["-e", script], { env: { ...process.env, PAWWORK_SUPERVISOR_ADDON: path.join(dir, "pawwork_supervisor.node") }, timeout: 30_000 }).toString(),
    )
    expect(out.code).toBe("ERR_PAWWORK_SUPERVISOR_LOAD")
    expect(out.tried[1]).toEqual({ path: lib, why: `another build (${other}; this facade: ${expected})` })
    expect(out.cause).toEqual({ name: "BuildMismatchError", code: "ERR_PAWWORK_SUPERVISOR_BUILD", expected, actual: other })
    expect(out.maps).toBe(false) // never loaded
  })

  it("a helper from another build is dropped at its hello: containment() reports the fallback and why", () => {
    const dir = nativeDir(path.join(tmp, "other-helper"))
    const other = otherBuild(path.join(dir, "pawwork-supervisor-helper"))
    const out = loadWith(path.join(dir, "pawwork_supervisor.node"))
    expect(out.loaded).toBe(true)
    expect(out.mode).toBe("fallback")
    expect(out.reason).toBe(`helper ${path.join(dir, "pawwork-supervisor-helper")} is from another build ("${other}"; this library: "${expected}")`)
  })
})

describe.runIf(process.platform === "linux")("Node-API only", () => {
  const imports = () =>
    execFileSync("nm", ["-D", "--undefined-only", path.join(RELEASE, "pawwork_supervisor.node")])
      .toString()
      .split("\n")
      .map((l) => l.trim().split(/\s+/).pop() ?? "")

  it("the addon imports no libuv symbol (Bun panics on one, Deno has none)", () => {
    expect(imports().filter((s) => s.startsWith("uv_") || s.includes("_uv_"))).toEqual([])
  })

  it("binding/loader.cc's list of Node-API functions is exactly what the addon imports", () => {
    const src = fs.readFileSync(path.join(ROOT, "binding", "loader.cc"), "utf8")
    const list = /kNodeApi\[\] = \{([^}]*)\}/.exec(src)?.[1] ?? ""
    const listed = [...list.matchAll(/"(\w+)"/g)].map((m) => m[1]).sort()
    expect(listed).toEqual(imports().filter((s) => /^(napi|node_api)_/.test(s)).sort())
  })

  it("the binding's missing-function error becomes a RuntimeUnsupportedError naming the function", () => {
    const dir = nativeDir(path.join(tmp, "no-api"), ["libpawwork_supervisor.so", "pawwork-supervisor-helper"])
    const fake = path.join(dir, "stand-in.js")
    fs.writeFileSync(fake, `throw Object.assign(new Error("no napi_wrap"), { code: "ERR_PAWWORK_SUPERVISOR_RUNTIME", missing: "napi_wrap" })`)
    const out = loadWith(fake)
    expect(out).toMatchObject({ code: "ERR_PAWWORK_SUPERVISOR_RUNTIME", name: "RuntimeUnsupportedError" })
    expect(out.message).toBe(
      `pawwork-supervisor: Node ${process.version} lacks the Node-API function napi_wrap that the native addon needs; set PAWWORK_SUPERVISOR=legacy to run without it`,
    )
  })
})
