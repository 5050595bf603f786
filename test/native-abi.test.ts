// The C ABI has one source, go/capi/pws.h. The Go side is checked against it when the
// library is built (go/capi/abi.go); here: the addon, compiled from it, exports every
// number it defines, those equal what the facade uses, and a facade refuses an addon
// built from another header with a typed error that names each differing number.
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { ABI, AbiMismatchError, checkConstants, loadAddon } from "../lib/addon"
import { ROOT } from "./native-helpers"

/** The names of pws.h's numbers (its #defines but the include guard), without PWS_. */
function headerNumbers(): string[] {
  const text = fs.readFileSync(path.join(ROOT, "go", "capi", "pws.h"), "utf8")
  return [...text.matchAll(/^#define PWS_(\w+)[ \t]+\S/gm)].map((m) => m[1]).sort()
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pws-abi-"))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

describe("the ABI's numbers have one source, go/capi/pws.h", () => {
  it("the addon exports every number of pws.h, and each one the facade uses equals the facade's", () => {
    const c = loadAddon().constants
    expect(Object.keys(c).sort()).toEqual(headerNumbers())
    for (const [name, v] of Object.entries(ABI)) expect(c[name], `PWS_${name}`).toBe(v)
    expect(() => checkConstants(c)).not.toThrow()
    expect(Object.isFrozen(c)).toBe(true)
  })

  it("a difference is an AbiMismatchError (ERR_PAWWORK_SUPERVISOR_ABI) naming each number", () => {
    const other: Record<string, unknown> = { ...ABI, EV_EXIT: 7, DEFAULT_GRACE_MS: 3000 }
    delete other.REASON_HOST
    let err: unknown
    try {
      checkConstants(other)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(AbiMismatchError)
    const e = err as AbiMismatchError
    expect(e.code).toBe("ERR_PAWWORK_SUPERVISOR_ABI")
    expect(e.mismatches).toEqual([
      { name: "EV_EXIT", expected: 4, actual: 7 },
      { name: "REASON_HOST", expected: 4, actual: undefined },
      { name: "DEFAULT_GRACE_MS", expected: 5000, actual: 3000 },
    ])
    expect(e.message).toContain("go/capi/pws.h")
    expect(e.message).toContain("PWS_EV_EXIT is 7 there, 4 here")
    expect(e.message).toContain("PWS_REASON_HOST is missing there, 4 here")
    expect(e.message).toContain("PWS_DEFAULT_GRACE_MS is 3000 there, 5000 here")
  })

  it("an addon without constants (older than the check) is refused the same way", () => {
    for (const none of [undefined, null, 42]) {
      let err: unknown
      try {
        checkConstants(none)
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(AbiMismatchError)
      expect((err as AbiMismatchError).code).toBe("ERR_PAWWORK_SUPERVISOR_ABI")
      expect((err as AbiMismatchError).mismatches.map((m) => m.name)).toEqual(Object.keys(ABI))
    }
  })

  it("loadAddon() refuses an addon built from another pws.h before loading its Go library: the load error has the mismatch as cause", () => {
    // The built facade alone in a directory of its own, so that the only addon it can
    // find is the one PAWWORK_SUPERVISOR_ADDON names: a stand-in whose EV_EXIT differs.
    fs.mkdirSync(path.join(tmp, "dist"))
    fs.copyFileSync(path.join(ROOT, "dist", "addon.js"), path.join(tmp, "dist", "addon.js"))
    const fake = path.join(tmp, "other-addon.js")
    // The override's addon must have the library beside it (or the resolver refuses it).
    fs.copyFileSync(path.join(ROOT, "build", "Release", "libpawwork_supervisor.so"), path.join(tmp, "libpawwork_supervisor.so"))
    const touched = path.join(tmp, "touched")
    fs.writeFileSync(
      fake,
      `const touch = () => { require("node:fs").writeFileSync(${JSON.stringify(touched)}, "called"); throw new Error("called") }
module.exports = { constants: Object.freeze({ ...${JSON.stringify(ABI)}, EV_EXIT: 9 }),
  abiVersion: touch, configure: touch, containment: touch, descendants: touch, Child: touch }`,
    )
    const script = `const { loadAddon } = require(${JSON.stringify(path.join(tmp, "dist", "addon.js"))})
try { loadAddon(); console.log(JSON.stringify({ loaded: true })) }
catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message, cause: e.cause && { name: e.cause.name, code: e.cause.code, mismatches: e.cause.mismatches } })) }`
    const out = JSON.parse(
      execFileSync(process.execPath, ["-e", script], { env: { ...process.env, PAWWORK_SUPERVISOR_ADDON: fake }, timeout: 30_000 }).toString(),
    )
    expect(out.code).toBe("ERR_PAWWORK_SUPERVISOR_LOAD")
    expect(out.message).toContain(`${fake}: pawwork-supervisor: the native addon was built from another go/capi/pws.h than this facade: PWS_EV_EXIT is 9 there, 4 here`)
    expect(out.cause).toEqual({
      name: "AbiMismatchError",
      code: "ERR_PAWWORK_SUPERVISOR_ABI",
      mismatches: [{ name: "EV_EXIT", expected: 4, actual: 9 }],
    })
    expect(fs.existsSync(touched)).toBe(false)
  })
})
