// A short demonstration: spawn a tree, stream its output, cancel it, print the outcome,
// and show that no member of the tree is left.
const path = require("node:path")
const { supervise } = require("..")
const { alive } = require("./procfs.cjs")

async function main() {
  const tree = path.join(__dirname, "..", "fixtures", "spawn-tree.sh")
  const child = supervise([tree], { stdout: "pipe", stderr: "pipe", graceMs: 500 })
  const pids = []
  child.stdout.setEncoding("utf8")
  child.stdout.on("data", (text) => {
    for (const line of text.split("\n").filter(Boolean)) {
      console.log(`  child says: ${line}`)
      const m = /^pid \w+ (\d+)$/.exec(line)
      if (m) pids.push(Number(m[1]))
      if (line === "ready") {
        console.log(`cancelling the tree of ${pids.length} processes ${pids.join(", ")}`)
        child.cancel()
      }
    }
  })
  const outcome = await child.outcome
  console.log("outcome:", JSON.stringify(outcome, null, 2))
  const left = pids.filter(alive)
  console.log(left.length === 0 ? "no member of the tree is alive" : `STILL ALIVE: ${left.join(", ")}`)
  process.exitCode = left.length === 0 ? 0 : 1
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
