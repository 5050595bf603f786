// Issue 3 with the helper (the default where the helper executable sits beside the library).
import { leakCheck } from "./helpers"
import { containmentSuite } from "./containment-cases"

delete process.env.PAWWORK_SUPERVISOR_HELPER
leakCheck()
containmentSuite("helper")
