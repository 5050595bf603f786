// Issue 3 with the helper but without a cgroup (PAWWORK_SUPERVISOR_CGROUP=0): what an
// unprivileged desktop user without systemd delegation gets. Orphans are attributed by
// marker, session, group, ancestry, and — for a daemon that cleared its environment —
// by being the only live tree that could have started them.
import { leakCheck } from "./helpers"
import { containmentSuite } from "./containment-cases"

delete process.env.PAWWORK_SUPERVISOR_HELPER
process.env.PAWWORK_SUPERVISOR_CGROUP = "0"
leakCheck()
containmentSuite("helper", { cgroup: false })
