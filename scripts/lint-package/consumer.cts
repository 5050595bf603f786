// A CommonJS consumer of the packed package's types (make lint-package compiles it
// under node16 resolution).
import { supervise, Process, NativeLoadError } from "pawwork-supervisor"
import type { Outcome } from "pawwork-supervisor"

const outcome: Promise<Outcome> = supervise(["true"]).outcome
const isLoadError = (e: unknown): e is NativeLoadError => e instanceof NativeLoadError
void [outcome, isLoadError, Process.text]
