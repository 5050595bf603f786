// The packed main package's own checks, beside arethetypeswrong and publint:
// - its size (issue 12: JS and types only, under 100 KB packed);
// - source maps: a shipped .js that names a map ships that map, and the map carries
//   sourcesContent for every source (the sources themselves are not shipped);
// - the ES module entry (dist/index.mjs lists its names one by one) exports exactly the
//   CommonJS build's names, the same objects, and the build itself as default;
// - "./dsh" imports through the exports map.
// Usage: node check.mjs <npm pack --json output> <consumer dir with node_modules/pawwork-supervisor>
import { readFileSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { join, resolve, sep } from "node:path"
import { pathToFileURL } from "node:url"

const LIMIT = 100_000
const [packJson, consumerArg] = process.argv.slice(2)
const consumer = resolve(consumerArg)
const [pack] = JSON.parse(readFileSync(packJson, "utf8"))
const pkgDir = join(consumer, "node_modules", "pawwork-supervisor")
const problems = []

console.log(`packed ${pack.size} bytes (limit ${LIMIT}), unpacked ${pack.unpackedSize}, ${pack.entryCount} files`)
if (pack.size > LIMIT) problems.push(`packed size ${pack.size} > ${LIMIT}`)

const shipped = new Set(pack.files.map((f) => f.path))
let maps = 0
for (const file of shipped) {
  if (!/\.(c|m)?js$/.test(file)) continue
  const m = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(join(pkgDir, file), "utf8"))
  if (!m) continue
  if (m[1].startsWith("data:")) continue
  const map = join(file, "..", m[1])
  if (!shipped.has(map)) {
    problems.push(`${file} names ${m[1]}, which is not in the package`)
    continue
  }
  maps++
  const { sources = [], sourcesContent = [] } = JSON.parse(readFileSync(join(pkgDir, map), "utf8"))
  sources.forEach((s, i) => {
    if (typeof sourcesContent[i] !== "string" && !shipped.has(join(map, "..", s))) problems.push(`${map}: ${s} is neither shipped nor in sourcesContent`)
  })
}
console.log(`source maps: ${maps} shipped, ${[...shipped].filter((f) => f.endsWith(".map")).length} .map files`)

// A consumer's module, so that the bare specifiers go through the package's exports map.
writeFileSync(
  join(consumer, "probe.mjs"),
  [
    'import { createRequire } from "node:module"',
    'import * as esm from "pawwork-supervisor"',
    'import * as dsh from "pawwork-supervisor/dsh"',
    'export const cjs = createRequire(import.meta.url)("pawwork-supervisor")',
    "export { esm, dsh }",
    "",
  ].join("\n"),
)
const { esm, cjs, dsh } = await import(pathToFileURL(join(consumer, "probe.mjs")).href)
const where = createRequire(join(consumer, "probe.mjs")).resolve("pawwork-supervisor")
if (!where.startsWith(join(pkgDir, "dist") + sep)) problems.push(`"pawwork-supervisor" resolved to ${where}, not to the unpacked tarball`)
const cjsNames = Object.keys(cjs).sort()
const esmNames = Object.keys(esm).filter((k) => k !== "default").sort()
const missing = cjsNames.filter((k) => !esmNames.includes(k))
const extra = esmNames.filter((k) => !cjsNames.includes(k))
if (missing.length) problems.push(`dist/index.mjs lacks ${missing.join(", ")} (lib/esm-entry.mjs)`)
if (extra.length) problems.push(`dist/index.mjs has ${extra.join(", ")}, which dist/index.js does not`)
for (const k of esmNames) if (cjsNames.includes(k) && esm[k] !== cjs[k]) problems.push(`dist/index.mjs's ${k} is not dist/index.js's`)
if (esm.default !== cjs) problems.push("dist/index.mjs's default is not dist/index.js's module.exports")
console.log(`ES module entry: ${esmNames.length} names + default; CommonJS: ${cjsNames.length} names`)
if (typeof dsh.default !== "function" || dsh.default !== dsh.SupervisorSubprocessRuntime) problems.push("pawwork-supervisor/dsh lacks its default SupervisorSubprocessRuntime")

if (problems.length) {
  for (const p of problems) console.error(`FAIL ${p}`)
  process.exit(1)
}
console.log("package checks: clean")
