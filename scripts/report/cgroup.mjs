// CPU time per cell, where this host may create cgroup v2 directories (root here; a
// delegated systemd scope on a desktop). Each cell host is started inside a cgroup of its
// own, so everything the cell runs — the implementation, its helper, the fixtures, the
// ps/pgrep a peer spawns, orphans re-parented to init — is charged to it, which a wait()
// based figure (getrusage, /usr/bin/time) misses. Without a writable cgroup the report
// simply has no CPU figures.
import fs from "node:fs"
import path from "node:path"

function cgroup2Mount() {
  let info = ""
  try {
    info = fs.readFileSync("/proc/self/mountinfo", "latin1")
  } catch {
    return null
  }
  for (const line of info.split("\n")) {
    const [pre, post] = line.split(" - ")
    if (post?.startsWith("cgroup2 ")) return pre.split(" ")[4]
  }
  return null
}

function ownCgroup() {
  try {
    const line = fs.readFileSync("/proc/self/cgroup", "latin1").split("\n").find((l) => l.startsWith("0::"))
    return line ? line.slice(3) : null
  } catch {
    return null
  }
}

/**
 * A directory for the run's cell cgroups (<mount>/<own cgroup>/pws-report-<run>), or
 * { dir: null, why } when none can be made.
 */
export function runCgroup(run) {
  const mount = cgroup2Mount()
  const own = ownCgroup()
  if (!mount || own === null) return { dir: null, why: "no cgroup v2 hierarchy" }
  const dir = path.join(mount, own, `pws-report-${run}`)
  try {
    fs.mkdirSync(dir)
  } catch (e) {
    return { dir: null, why: `cannot create ${dir}: ${e.code}` }
  }
  if (!fs.existsSync(path.join(dir, "cpu.stat"))) {
    removeTree(dir)
    return { dir: null, why: "no cpu.stat in cgroup v2" }
  }
  return { dir, why: "" }
}

/** A fresh cgroup below the run's, or null. */
export function cellCgroup(runDir, name) {
  if (!runDir) return null
  const dir = path.join(runDir, name)
  try {
    fs.mkdirSync(dir)
    return dir
  } catch {
    return null
  }
}

/**
 * The argv that starts argv inside cgroup dir (a shell moves itself in, then execs);
 * argv itself when there is no cgroup. A failed move leaves the cell running without
 * a CPU figure.
 */
export function inCgroup(dir, argv) {
  if (!dir) return argv
  return ["/bin/sh", "-c", '{ echo $$ >"$0"; } 2>/dev/null; exec "$@"', path.join(dir, "cgroup.procs"), ...argv]
}

/** CPU time charged to dir and its descendants, in ms (null without a figure). */
export function cpuMs(dir) {
  if (!dir) return null
  try {
    const m = /^usage_usec (\d+)$/m.exec(fs.readFileSync(path.join(dir, "cpu.stat"), "latin1"))
    return m ? Number(m[1]) / 1000 : null
  } catch {
    return null
  }
}

/** Pids still in dir or below it. */
export function members(dir) {
  const out = []
  const walk = (d) => {
    let entries = []
    try {
      entries = fs.readdirSync(d, { withFileTypes: true })
      for (const p of fs.readFileSync(path.join(d, "cgroup.procs"), "latin1").split("\n")) if (p) out.push(Number(p))
    } catch {
      return
    }
    for (const e of entries) if (e.isDirectory()) walk(path.join(d, e.name))
  }
  if (dir) walk(dir)
  return out
}

/** SIGKILL everything in dir and below (cgroup.kill; Linux 5.14+). */
export function killAll(dir) {
  if (!dir) return
  try {
    fs.writeFileSync(path.join(dir, "cgroup.kill"), "1")
  } catch {
    // an older kernel: the harness's own pid/marker sweep has run already
  }
}

/** Removes dir and the (empty) cgroups below it; false when some are still populated. */
export function removeTree(dir) {
  if (!dir) return true
  let ok = true
  let entries = []
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true })
  } catch {
    return true
  }
  for (const e of entries) if (e.isDirectory()) ok = removeTree(path.join(dir, e.name)) && ok
  try {
    fs.rmdirSync(dir)
  } catch (e) {
    return e.code === "ENOENT" ? ok : false
  }
  return ok
}
