// Link-time stubs of glibc at a floor version (Node's own: 2.28), so that the Go library
// and the addon built on a newer Debian run on any glibc from the floor up.
//
//   node glibc-stubs.mjs <host libdir> <out dir> <cc> [floor]
//
// A binary built against the host's glibc binds each symbol to its newest version
// (pthread_create@GLIBC_2.34, __libc_single_threaded@GLIBC_2.32), which an older glibc
// lacks: the loader then refuses the file. Here every symbol the host's libc.so.6,
// libpthread.so.0, libdl.so.2, libm.so.6, librt.so.1 and dynamic loader export is given
// again, in a stub library of the same soname, at the newest version it has that is not
// above the floor (pthread_create@GLIBC_2.2.5; memcpy@GLIBC_2.14); a symbol with no such
// version (arc4random, _dl_find_object, __libc_single_threaded) is left out, so a link
// that needs it fails by name instead of producing a file that fails at load. The stubs
// are linked against, never shipped or loaded: the dependency names and the version
// requirements they leave in the output are what a build on the floor system would leave.
// scripts/packages/check-glibc.sh verifies the result with objdump.
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"

const [libdir, out, cc, floorArg = "2.28"] = process.argv.slice(2)
if (!libdir || !out || !cc) {
  console.error("usage: glibc-stubs.mjs <host libdir> <out dir> <cc> [floor]")
  process.exit(2)
}
const floor = floorArg.split(".").map(Number)

// "GLIBC_2.2.5" → [2,2,5]; anything else (GLIBC_PRIVATE, Base) → undefined.
function versionOf(v) {
  const m = /^GLIBC_(\d+(?:\.\d+)*)$/.exec(v)
  return m ? m[1].split(".").map(Number) : undefined
}
function cmp(a, b) {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}

// objdump -T: address, 7 flag characters, section, size, version ("(V)" when hidden), name.
const LINE = /^[0-9a-f]+ (.{7}) (\S+)\s+([0-9a-f]+)\s+\(?([^\s)]+)\)?\s+(\S+)$/

function exported(file) {
  const syms = new Map() // name → { version, kind, size }
  const text = execFileSync("objdump", ["-T", file], { encoding: "utf8", maxBuffer: 64 << 20 })
  for (const line of text.split("\n")) {
    const m = LINE.exec(line)
    if (!m) continue
    const [, flags, section, size, version, name] = m
    if (section === "*UND*" || section === "*ABS*") continue
    const v = versionOf(version)
    if (!v || cmp(v, floor) > 0) continue
    const kind = flags.includes("F") || flags.includes("i") ? "function" : flags.includes("O") ? "object" : undefined
    if (!kind || section.startsWith(".tbss") || section.startsWith(".tdata")) continue
    const prev = syms.get(name)
    if (!prev || cmp(v, prev.v) > 0) syms.set(name, { v, version, kind, size: parseInt(size, 16) })
  }
  return syms
}

// The dynamic loader's name differs per architecture.
const loader = fs.readdirSync(libdir).find((f) => /^ld-linux-[\w-]+\.so\.\d$/.test(f))
if (!loader) throw new Error(`no ld-linux-*.so.* in ${libdir}`)
const libs = [
  { soname: "libc.so.6", dev: "libc.so" },
  { soname: "libpthread.so.0", dev: "libpthread.so" },
  { soname: "libdl.so.2", dev: "libdl.so" },
  { soname: "libm.so.6", dev: "libm.so" },
  { soname: "librt.so.1", dev: "librt.so" },
  { soname: loader, dev: undefined },
]

fs.rmSync(out, { recursive: true, force: true })
fs.mkdirSync(out, { recursive: true })
let total = 0
for (const lib of libs) {
  const syms = exported(path.join(libdir, lib.soname))
  const byVersion = new Map()
  let asm = ".text\n"
  for (const [name, s] of [...syms].sort()) {
    if (!byVersion.has(s.version)) byVersion.set(s.version, [])
    byVersion.get(s.version).push(name)
    if (s.kind === "function") asm += `.globl ${name}\n.type ${name},%function\n${name}:\n.byte 0\n`
    else asm += `.data\n.globl ${name}\n.type ${name},%object\n.size ${name},${s.size}\n${name}:\n.zero ${Math.max(s.size, 1)}\n.text\n`
  }
  // Each version a node of its own; no dependencies between them are needed for linking.
  const script = [...byVersion].map(([v, names]) => `${v} {\n  global:\n${names.map((n) => `    ${n};\n`).join("")}};\n`).join("")
  // A library with no symbol at the floor still needs one version node for its soname.
  const stem = path.join(out, lib.soname)
  fs.writeFileSync(`${stem}.s`, asm)
  fs.writeFileSync(`${stem}.map`, script || "GLIBC_2.0 { local: *; };\n")
  execFileSync(cc, ["-shared", "-nostdlib", "-o", stem, `-Wl,-soname,${lib.soname}`, `-Wl,--version-script,${stem}.map`, `${stem}.s`], { stdio: "inherit" })
  total += syms.size
  if (lib.dev) fs.symlinkSync(lib.soname, path.join(out, lib.dev))
}
// libc.so is a linker script on glibc: the shared library, the static part (atexit,
// pthread_atfork, …, from the host: it only calls versioned libc symbols) and the loader.
fs.rmSync(path.join(out, "libc.so"))
const nonshared = [path.join(libdir, "libc_nonshared.a"), path.join(libdir, "..", "lib", "libc_nonshared.a"), `/usr/lib/${path.basename(libdir)}/libc_nonshared.a`].find((f) =>
  fs.existsSync(f),
)
if (!nonshared) throw new Error(`no libc_nonshared.a for ${libdir}`)
fs.writeFileSync(path.join(out, "libc.so"), `GROUP ( ${path.join(out, "libc.so.6")} ${nonshared} AS_NEEDED ( ${path.join(out, loader)} ) )\n`)
console.log(`glibc stubs at GLIBC_${floorArg}: ${total} symbols from ${libdir} → ${out}`)
