// The git-installed package through its ES module entry (scripts/git-install/run.sh).
import supervisor, { supervise } from "pawwork-supervisor"

const timer = setTimeout(() => { console.log("FAIL import: bound fired: outcome took over 20000 ms"); process.exit(1) }, 20_000)
try {
  if (supervisor.supervise !== supervise) throw new Error("default export and named export differ")
  const child = supervise(["sh", "-c", "echo esm"], { stdout: "pipe" })
  let out = ""
  child.stdout.on("data", (d) => { out += d })
  const o = await child.outcome
  if (o.code !== 0 || out !== "esm\n") throw new Error(`code ${o.code} stdout ${JSON.stringify(out)}`)
  console.log("ok   import: exit code 0, stdout whole")
} catch (e) {
  console.log(`FAIL import: ${e && e.stack || e}`)
  process.exitCode = 1
} finally {
  clearTimeout(timer)
}
