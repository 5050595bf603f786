// Electron: an app packed into app.asar with @electron/asar (the library electron-builder
// and Electron Forge call), the package's native files unpacked as asarUnpack does, and
// the package loaded from inside app.asar with no override variable: lib/addon.ts must
// map its own app.asar paths to app.asar.unpacked and load the native files from there.
//
// Real: the archive and its app.asar.unpacked twin as @electron/asar writes them, the
// package's files as `npm pack` lists them, the addon, the Go library and the helper, a
// real spawn with output, a real tree cancelled, the helper started from the twin.
//
// Simulated (there is no Electron here): Electron's patched fs, which shows app.asar as a
// directory to JavaScript. A real directory named app.asar stands in for it, holding every
// entry of the archive read back with @electron/asar (unpacked ones included, as Electron's
// fs serves those from the twin) EXCEPT the native binaries: those are loaded by dlopen and
// execve, which see the real file system, where app.asar is a file and has no such path.
// So a path the resolver failed to map fails here as it would in Electron. The host is
// Node, not Electron's Node (same Node-API; Electron's process.versions.electron is absent).
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as asar from "@electron/asar"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { leakCheck } from "./helpers"
import { ROOT, runNode } from "./native-helpers"

leakCheck()

const RELEASE = path.join(ROOT, "build", "Release")
const NATIVE = ["pawwork_supervisor.node", process.platform === "darwin" ? "libpawwork_supervisor.dylib" : "libpawwork_supervisor.so", "pawwork-supervisor-helper"]
const TARGET = `${process.platform}-${process.arch}${process.platform === "linux" ? "-gnu" : ""}`
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pws-asar-"))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

// Where the native files live in an installed app: in the platform package
// (node_modules/@pawwork-supervisor/<target>, what the registry install gives) when the
// built resolver knows platform packages; else in the main package's build/Release (what
// a git install or a local build gives), the one place the resolver knew before them.
const resolverSource = fs.readFileSync(path.join(ROOT, "dist", "addon.js"), "utf8")
const layout = resolverSource.includes("@pawwork-supervisor/")
  ? { name: `platform package @pawwork-supervisor/${TARGET}`, nativeDir: `node_modules/@pawwork-supervisor/${TARGET}`, unpackDir: "node_modules/@pawwork-supervisor/*" }
  : { name: "the main package's build/Release", nativeDir: "node_modules/pawwork-supervisor/build/Release", unpackDir: "node_modules/pawwork-supervisor/build/Release" }

function copy(from: string, to: string) {
  fs.mkdirSync(path.dirname(to), { recursive: true })
  fs.copyFileSync(from, to)
  fs.chmodSync(to, fs.statSync(from).mode & 0o777)
}

/** Copies an installed dependency and, flat beside it, everything it depends on. */
function copyDependency(name: string, appModules: string, seen = new Set<string>()) {
  if (seen.has(name)) return
  seen.add(name)
  const from = path.join(ROOT, "node_modules", name)
  fs.cpSync(from, path.join(appModules, name), { recursive: true })
  const deps = JSON.parse(fs.readFileSync(path.join(from, "package.json"), "utf8")).dependencies ?? {}
  for (const dep of Object.keys(deps)) copyDependency(dep, appModules, seen)
}

/** An Electron app's source tree: main.js, the package as npm packs it, its dependencies, the native files in `layout`. */
function appSource(dir: string): string {
  const modules = path.join(dir, "node_modules")
  const pkgDir = path.join(modules, "pawwork-supervisor")
  const pack = JSON.parse(execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: ROOT, encoding: "utf8" }))
  for (const f of pack[0].files as { path: string }[]) copy(path.join(ROOT, f.path), path.join(pkgDir, f.path))
  const mainPkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"))
  for (const dep of Object.keys(mainPkg.dependencies ?? {})) copyDependency(dep, modules)
  for (const f of NATIVE) copy(path.join(RELEASE, f), path.join(dir, layout.nativeDir, f))
  if (layout.nativeDir.includes("@pawwork-supervisor/")) {
    const meta = { name: `@pawwork-supervisor/${TARGET}`, version: mainPkg.version, os: [process.platform], cpu: [process.arch] }
    fs.writeFileSync(path.join(dir, layout.nativeDir, "package.json"), JSON.stringify(meta, null, 2) + "\n")
    copy(path.join(ROOT, "dist", "build-id.json"), path.join(dir, layout.nativeDir, "build-id.json"))
  }
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "asar-app", version: "1.0.0", main: "main.js" }) + "\n")
  // The app's main process: loads the package as Electron's require would find it (from
  // inside app.asar), runs a child with output and a tree it cancels, says what it loaded.
  fs.writeFileSync(
    path.join(dir, "main.js"),
    `const path = require("node:path")
const out = { entry: require.resolve("pawwork-supervisor") }
async function main() {
  const { supervise, containment } = require("pawwork-supervisor")
  const child = supervise(["sh", "-c", "echo from-asar; exit 3"], { stdout: "pipe" })
  let text = ""
  child.stdout.on("data", (d) => { text += d })
  const o = await child.outcome
  Object.assign(out, { code: o.code, stdout: text })
  const ac = new AbortController()
  const tree = supervise(["sh", "-c", "sleep 60 & sleep 60 & wait"], { signal: ac.signal, graceMs: 500 })
  await new Promise((res, rej) => { tree.once("spawn", res); tree.once("error", rej) })
  ac.abort()
  out.treeReason = (await tree.outcome).reason
  const c = containment()
  Object.assign(out, { mode: c.mode, helperPath: c.helperPath, reason: c.reason })
  out.loaded = require(path.join(path.dirname(out.entry), "addon.js")).loadedPaths
}
main().then(
  () => console.log(JSON.stringify(out)),
  (e) => { console.log(JSON.stringify({ ...out, error: { name: e.name, code: e.code, message: e.message, tried: e.tried } })); process.exitCode = 1 },
)
`,
  )
  return dir
}

/**
 * Packs `src` into <resources>/app.asar with @electron/asar (unpacking as given), then
 * puts the stand-in for Electron's view of it at the same path (see the top of this file).
 */
async function packApp(src: string, resources: string, unpack: { unpack?: string; unpackDir?: string }) {
  fs.mkdirSync(resources, { recursive: true })
  const archive = path.join(resources, "app.asar")
  await asar.createPackageWithOptions(src, archive, unpack)
  const view = path.join(resources, "view")
  for (const entry of asar.listPackage(archive, { isPack: false })) {
    const rel = entry.replace(/^[\\/]/, "")
    const stat = asar.statFile(archive, rel) as { files?: unknown; unpacked?: boolean; executable?: boolean; link?: string }
    if (stat.files || stat.link) continue
    if (stat.unpacked && NATIVE.includes(path.basename(rel))) continue
    const to = path.join(view, rel)
    fs.mkdirSync(path.dirname(to), { recursive: true })
    fs.writeFileSync(to, asar.extractFile(archive, rel))
    if (stat.executable) fs.chmodSync(to, 0o755)
  }
  asar.uncacheAll()
  fs.renameSync(archive, path.join(resources, "app.asar.file"))
  fs.renameSync(view, archive)
  return { archive: path.join(resources, "app.asar.file"), view: archive, unpacked: `${archive}.unpacked` }
}

describe.runIf(process.platform === "linux")(`an Electron app packed into app.asar (native files in ${layout.name})`, () => {
  let src: string
  beforeAll(() => {
    src = appSource(path.join(tmp, "src"))
  })

  it(`with asarUnpack of ${layout.unpackDir}: loads the native files from app.asar.unpacked, spawns, cancels a tree, runs the helper from there`, async () => {
    const resources = path.join(tmp, "unpack-dir", "resources")
    const { archive, view, unpacked } = await packApp(src, resources, { unpackDir: layout.unpackDir })

    // The archive as @electron/asar wrote it: the facade packed, the native files unpacked,
    // each unpacked one byte for byte the built one, the helper still executable.
    expect(asar.statFile(archive, "node_modules/pawwork-supervisor/dist/index.js")).not.toHaveProperty("unpacked", true)
    for (const f of NATIVE) {
      const rel = path.join(layout.nativeDir, f)
      expect(asar.statFile(archive, rel), rel).toHaveProperty("unpacked", true)
      expect(fs.readFileSync(path.join(unpacked, rel)).equals(fs.readFileSync(path.join(RELEASE, f))), rel).toBe(true)
      expect(fs.existsSync(path.join(view, rel)), `${rel} in the app.asar stand-in`).toBe(false)
    }
    fs.accessSync(path.join(unpacked, layout.nativeDir, "pawwork-supervisor-helper"), fs.constants.X_OK)

    const r = await runNode(process.execPath, [path.join(view, "main.js")], { boundMs: 30_000, env: { PAWWORK_SUPERVISOR_ADDON: "" } })
    expect(r.stderr).toBe("")
    const out = JSON.parse(r.stdout)
    expect(out.error).toBeUndefined()
    expect(r.code).toBe(0)
    // The facade ran from inside app.asar; every native file came from the twin.
    expect(out.entry).toBe(path.join(view, "node_modules", "pawwork-supervisor", "dist", "index.js"))
    expect(out.loaded).toMatchObject({
      addon: path.join(unpacked, layout.nativeDir, NATIVE[0]),
      library: path.join(unpacked, layout.nativeDir, NATIVE[1]),
      helper: path.join(unpacked, layout.nativeDir, NATIVE[2]),
    })
    expect(out).toMatchObject({ code: 3, stdout: "from-asar\n", treeReason: "abort", mode: "helper", helperPath: path.join(unpacked, layout.nativeDir, NATIVE[2]) })
  })

  it("with only '*.node' unpacked (the usual asarUnpack for addons): fails with NativeLoadError naming the library missing from app.asar.unpacked", async () => {
    const resources = path.join(tmp, "unpack-node", "resources")
    const { archive, view, unpacked } = await packApp(src, resources, { unpack: "*.node" })
    expect(asar.statFile(archive, path.join(layout.nativeDir, NATIVE[0]))).toHaveProperty("unpacked", true)
    expect(asar.statFile(archive, path.join(layout.nativeDir, NATIVE[1]))).not.toHaveProperty("unpacked", true)

    const r = await runNode(process.execPath, [path.join(view, "main.js")], { boundMs: 30_000, env: { PAWWORK_SUPERVISOR_ADDON: "" } })
    const out = JSON.parse(r.stdout)
    expect(r.code).toBe(1)
    expect(out.error).toMatchObject({ name: "NativeLoadError", code: "ERR_PAWWORK_SUPERVISOR_LOAD" })
    expect(out.error.tried).toContainEqual({ path: path.join(unpacked, layout.nativeDir, NATIVE[1]), why: "missing" })
  })
})
