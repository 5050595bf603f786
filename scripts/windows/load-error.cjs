// make test-windows-node, after check.cjs: the loader's Windows error path. A copy of the
// win32 binaries whose Go DLL cannot be mapped (its first section's file offset points
// past the end of the file; header, architecture and build id intact, so only
// LoadLibraryExW can refuse it), in a folder whose name is not ASCII: loading must fail
// with ERR_PAWWORK_SUPERVISOR_LOAD naming that exact path and the system's reason
// (FormatMessageW text and the error number), not crash the host.
//   node.exe load-error.cjs <dir with pawwork_supervisor.node and .dll>   (writes load-error.txt)
"use strict"
const fs = require("node:fs")
const path = require("node:path")
const { execFileSync } = require("node:child_process")

const report = (line) => fs.appendFileSync("load-error.txt", line + "\n")

if (process.argv[2] === "--child") {
  try {
    const o = require("pawwork-supervisor").containment()
    report(`LOADED ${JSON.stringify(o)}`)
  } catch (err) {
    report(`ERROR ${err.code} ${JSON.stringify(err.message)}`)
  }
  process.exit(0)
}

const src = path.resolve(process.argv[2])
const dir = path.join(path.dirname(src), "brökén dll")
fs.mkdirSync(dir, { recursive: true })
fs.copyFileSync(path.join(src, "pawwork_supervisor.node"), path.join(dir, "pawwork_supervisor.node"))
const dll = fs.readFileSync(path.join(src, "pawwork_supervisor.dll"))
const pe = dll.readUInt32LE(0x3c)
const optSize = dll.readUInt16LE(pe + 20)
const firstSection = pe + 24 + optSize
dll.writeUInt32LE(0x7ff00000, firstSection + 20) // PointerToRawData
const broken = path.join(dir, "pawwork_supervisor.dll")
fs.writeFileSync(broken, dll)
fs.rmSync("load-error.txt", { force: true })
execFileSync(process.execPath, [__filename, "--child"], {
  env: { ...process.env, PAWWORK_SUPERVISOR_ADDON: path.join(dir, "pawwork_supervisor.node") },
  stdio: "ignore",
  timeout: 60_000,
})
const line = fs.readFileSync("load-error.txt", "utf8").trim()
const ok = line.startsWith("ERROR ERR_PAWWORK_SUPERVISOR_LOAD ") && line.includes(JSON.stringify(broken).slice(1, -1)) && /\(error \d+\)/.test(line)
report(`${ok ? "ok  " : "FAIL"} load-error: ${line}`)
process.exit(ok ? 0 : 1)
