// An ES module consumer of the packed package's types (make lint-package compiles it
// under node16 and bundler resolution): the import entry's types carry every
// name of the CommonJS build, values and types, and a default.
import supervisor, { supervise, Process, NativeLoadError, RuntimeUnsupportedError, containment } from "pawwork-supervisor"
import type { Outcome, SuperviseOptions, ContainmentInfo, Options } from "pawwork-supervisor"
import SupervisorSubprocessRuntime, { SupervisorSubprocessRuntime as Named } from "pawwork-supervisor/dsh"

const opts: SuperviseOptions = { timeoutMs: 1000 }
const outcome: Promise<Outcome> = supervise(["true"], opts).outcome
const info: ContainmentInfo = containment()
const spawnOpts: Options = {}
const sameDefault: typeof supervise = supervisor.supervise
const isLoadError = (e: unknown): e is NativeLoadError => e instanceof NativeLoadError
const runtime: string = new RuntimeUnsupportedError("napi_x", "y").runtime
const sameClass: typeof Named = SupervisorSubprocessRuntime
void [outcome, info, spawnOpts, sameDefault, isLoadError, runtime, sameClass, Process.run]
