// ES module entry: the CommonJS build, re-exported by name.
import cjs from "./index.js"

export const {
  Process,
  supervise,
  SupervisedChild,
  AwaitableChild,
  safeExit,
  RunFailedError,
  TERMINATION_GRACE_MS,
  legacy,
  native,
  implementation,
  setImplementation,
  containment,
  spawnTerminal,
  TerminalSession,
} = cjs
export default cjs
