// Types of the ES module entry (dist/index.d.mts, the "import" condition's types): an
// ES module's declarations, so that TypeScript under node16/nodenext sees the import
// entry as what it is (without it, the CommonJS index.d.ts stood for an ES module:
// arethetypeswrong's "masquerading as CJS"). The names and types are those of the
// CommonJS build, which the runtime entry re-exports one by one.
export * from "./index.js"
import cjs from "./index.js"
export default cjs
