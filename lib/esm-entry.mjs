// ES module entry (dist/index.mjs): the CommonJS build, re-exported by name. The names
// are listed rather than `export *`-ed so that every runtime (Node, Bun, Deno) sees the
// same set without relying on its CommonJS export detection; scripts/lint-package/
// esm-names.mjs fails `make lint-package` when this list and dist/index.js differ.
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
  NativeLoadError,
  RuntimeUnsupportedError,
  BuildMismatchError,
} = cjs
export default cjs
