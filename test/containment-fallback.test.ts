// Issue 3 without the helper: session, group, /proc ancestry and the inherited marker only.
// Cases the fallback cannot pass are declared with it.fails (a pass there fails the run,
// so the list stays true): the double-forked daemon that clears its environment.
// Host death without the helper is pinned in native-host.test.ts.
import { leakCheck } from "./helpers"
import { containmentSuite } from "./containment-cases"

// Read when the library first looks for its helper: before the first spawn of this file.
process.env.PAWWORK_SUPERVISOR_HELPER = "0"
leakCheck()
containmentSuite("fallback")
