// make win32-addon: every Node-API function the mingw-built addon imports (read from the
// link map: each archive member of the node.exe import library pulled in, and the symbol
// that pulled it) must be in binding/loader.cc's kNodeApi, the list the addon checks in
// the host at init (MissingNodeApi): the imports are delay-loaded, so one the host lacks
// and kNodeApi missed would crash the host at its first call instead of failing at init.
// kNodeApi may hold more (it is kept equal to the Linux build's imports by
// test/runtimes-resolver.test.ts); those are printed.
//   node scripts/windows/imports.cjs <addon.map> <loader.cc> <node_api.def>
"use strict"
const fs = require("node:fs")
const [mapFile, loaderFile, defFile] = process.argv.slice(2)
const map = fs.readFileSync(mapFile, "utf8")
// The import library's own helpers (__tailMerge_…, the DLL name) are not Node-API.
const exported = new Set(fs.readFileSync(defFile, "utf8").split(/\r?\n/).map((l) => l.trim()).filter((l) => /^\w+$/.test(l) && l !== "EXPORTS"))
const imported = new Set()
const member = /^\S*node-api-delay\.a\([^)]*\)\n\s+\S+ \((?:__imp_)?([A-Za-z_0-9]+)\)$/gm
for (const m of map.matchAll(member)) if (exported.has(m[1])) imported.add(m[1])
const list = /kNodeApi\[\] = \{([^}]*)\}/.exec(fs.readFileSync(loaderFile, "utf8"))?.[1]
if (!list) throw new Error(`${loaderFile}: no kNodeApi list`)
const checked = new Set([...list.matchAll(/"(\w+)"/g)].map((m) => m[1]))
const unchecked = [...imported].filter((n) => !checked.has(n)).sort()
const unused = [...checked].filter((n) => !imported.has(n)).sort()
if (imported.size === 0 || unchecked.length > 0) {
  console.error(`imports.cjs: the addon imports ${imported.size} Node-API functions from node.exe, kNodeApi lists ${checked.size}`)
  if (unchecked.length) console.error(`  imported but not checked at init (add them to kNodeApi): ${unchecked.join(" ")}`)
  process.exit(1)
}
console.log(
  `imports.cjs: the addon imports ${imported.size} Node-API functions from node.exe, each checked at init (kNodeApi: ${checked.size}` +
    (unused.length ? `; not imported by this build: ${unused.join(" ")})` : ")"),
)
