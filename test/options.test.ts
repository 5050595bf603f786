// The option tables (lib/options.ts) on the real addon: every option of supervise() and
// of Process (native) is refused with its own typed error when wrong, an unknown key is
// refused with the nearest known name (never dropped), supervise()'s `timeout` with where
// to go instead, and what an omitted option means is the table's default, the grace read
// from the addon's PWS_DEFAULT_GRACE_MS.
import { constants as osConstants } from "node:os"
import { describe, expect, it } from "vitest"
import { loadAddon } from "../lib/addon"
import { supervise } from "../lib/index"
import { native } from "../lib/native"
import { PROCESS_OPTIONS, RUN_OPTIONS, SUPERVISE_OPTIONS, distance, nearest, resolveOptions } from "../lib/options"
import { fixture, leakCheck, markedEnv, thrown, within } from "./helpers"

leakCheck()

const env = markedEnv()

type Bad = [value: unknown, type: "TypeError" | "RangeError", code: string]
const TYPE = (v: unknown): Bad => [v, "TypeError", "ERR_INVALID_ARG_TYPE"]
const VALUE = (v: unknown): Bad => [v, "TypeError", "ERR_INVALID_ARG_VALUE"]
const RANGE = (v: unknown): Bad => [v, "RangeError", "ERR_OUT_OF_RANGE"]
const SIGNAL = (v: unknown): Bad => [v, "TypeError", "ERR_UNKNOWN_SIGNAL"]
const MS: Bad[] = [RANGE(-1), RANGE(0.4), RANGE(NaN), RANGE(2 ** 53), TYPE("5"), TYPE(null)]

/** Wrong values of every option, by the shared entries' meaning. */
const BAD: Record<string, Bad[]> = {
  cwd: [TYPE(42), VALUE("/tmp\0x")],
  env: [TYPE("A=B"), VALUE({ "A=B": "x" }), VALUE({ "": "x" }), VALUE({ PWS_V: "a\0b" })],
  // A number is a host fd (child_process's rule): only a non-negative integer; an object must have an fd.
  stdin: [VALUE("bogus"), VALUE(-1), VALUE(1.5), VALUE({})],
  stdout: [VALUE("bogus"), VALUE(-1), VALUE({ fd: null })],
  stderr: [VALUE("bogus"), VALUE(true), VALUE(2 ** 31)],
  shell: [TYPE(5), TYPE({})],
  signal: [TYPE({}), TYPE("abort")],
  abort: [TYPE({}), TYPE("abort")],
  timeoutMs: MS,
  graceMs: MS,
  timeout: MS,
  drainIdleMs: MS,
  drainMaxMs: MS,
  killSignal: [SIGNAL("SIGFOO"), SIGNAL(0), SIGNAL(1.5), TYPE({})],
  kill: [SIGNAL("SIGFOO"), SIGNAL(0), SIGNAL(1.5), TYPE({})],
  killTreeOnExit: [TYPE("yes"), TYPE(1)],
  holdLeftovers: [TYPE("yes"), TYPE(1)],
  forwardSignals: [TYPE("yes"), TYPE(1)],
  nothrow: [TYPE("yes"), TYPE(1)],
  maxBuffer: [RANGE(-1), RANGE("5"), RANGE(NaN)],
  input: [TYPE(5), TYPE({}), TYPE(null)],
  all: [TYPE("yes"), TYPE(1)],
}

/** The error f throws, checked for class and code; its message names the option (but for an unknown signal, which names the signal). */
function expectRefused(f: () => unknown, [, type, code]: Bad, named: string) {
  const e = thrown(f)
  expect(e).toBeInstanceOf(type === "TypeError" ? TypeError : RangeError)
  expect(e.code).toBe(code)
  if (code !== "ERR_UNKNOWN_SIGNAL") expect(e.message).toContain(named)
}

describe("every option of every table has its wrong values here", () => {
  it.each([
    ["supervise", SUPERVISE_OPTIONS],
    ["Process.spawn", PROCESS_OPTIONS],
    ["Process.run", RUN_OPTIONS],
  ] as const)("%s", (_, table) => {
    for (const key of Object.keys(table)) expect(BAD[key], key).toBeDefined()
  })
})

describe("supervise(): each option's type and range", () => {
  for (const key of Object.keys(SUPERVISE_OPTIONS)) {
    it.each(BAD[key].map((b) => [String(typeof b[0] === "object" ? JSON.stringify(b[0]) : b[0]), b] as const))(`${key}: %s`, (_, bad) => {
      // maxBuffer's own message says "maxBuffer"; every other names the property.
      expectRefused(() => supervise(["sleep", "30"], { env, [key]: bad[0] }), bad, key === "maxBuffer" ? "maxBuffer" : `options.${key}`)
    })
  }

  it('stderr "stdout" needs stdout "pipe"', () => {
    expectRefused(() => supervise(["true"], { env, stderr: "stdout" }), VALUE(0), "options.stdout")
  })
})

describe("Process (native): each option's type and range, under the baseline's names", () => {
  for (const key of Object.keys(PROCESS_OPTIONS)) {
    it.each(BAD[key].map((b) => [String(typeof b[0] === "object" ? JSON.stringify(b[0]) : b[0]), b] as const))(`spawn ${key}: %s`, (_, bad) => {
      expectRefused(() => native.spawn(["sleep", "30"], { env, [key]: bad[0] }), bad, `opts.${key}`)
    })
  }
  for (const key of ["nothrow", "maxBuffer", "input"] as const) {
    it.each(BAD[key].map((b) => [String(b[0]), b] as const))(`run ${key}: %s (a rejection)`, async (_, bad) => {
      const e = await native.run(["true"], { env, [key]: bad[0] }).then(() => undefined, (x) => x)
      expectRefused(() => {
        throw e
      }, bad, key)
    })
  }

  it("run() sets stdout and stderr itself: what the caller passed for them is not checked", async () => {
    const r = await within(native.run(["echo", "x"], { env, stdout: "bogus", stderr: 5 } as never), 10_000, "run")
    expect(r.stdout.toString()).toBe("x\n")
  })
})

describe("unknown keys are refused with the nearest known name", () => {
  it.each([
    ["timout", "timeoutMs"],
    ["gracems", "graceMs"],
    ["graceMS", "graceMs"],
    ["killsignal", "killSignal"],
    ["drainIdle", "drainIdleMs"],
    ["killTree", "killTreeOnExit"],
    ["forwardSignal", "forwardSignals"],
    ["stdot", "stdout"],
    ["envv", "env"],
  ])("supervise(): %s → %s", (key, near) => {
    const e = thrown(() => supervise(["sleep", "30"], { env, [key]: 1 } as never))
    expect(e).toBeInstanceOf(TypeError)
    expect(e.code).toBe("ERR_INVALID_ARG_VALUE")
    expect(e.message).toBe(`Unknown option "${key}" — did you mean "${near}"?`)
  })

  it("an unknown key whose value is undefined is refused too (a typo is a typo)", () => {
    expect(thrown(() => supervise(["true"], { env, timout: undefined } as never)).message).toBe('Unknown option "timout" — did you mean "timeoutMs"?')
  })

  it.each([
    ["timout", "timeout"],
    ["timeOut", "timeout"],
    ["abrt", "abort"],
    ["kil", "kill"],
    ["shel", "shell"],
  ])("Process.spawn: %s → %s", (key, near) => {
    const e = thrown(() => native.spawn(["sleep", "30"], { env, [key]: 1 } as never))
    expect(e).toBeInstanceOf(TypeError)
    expect(e.code).toBe("ERR_INVALID_ARG_VALUE")
    expect(e.message).toBe(`Unknown option "${key}" — did you mean "${near}"?`)
  })

  it("Process.run: nothrows → nothrow, maxbuffer → maxBuffer (rejections)", async () => {
    for (const [key, near] of [["nothrows", "nothrow"], ["maxbuffer", "maxBuffer"]]) {
      const e = await native.run(["true"], { env, [key]: true } as never).then(() => undefined, (x) => x)
      expect(e).toBeInstanceOf(TypeError)
      expect(e.code).toBe("ERR_INVALID_ARG_VALUE")
      expect(e.message).toBe(`Unknown option "${key}" — did you mean "${near}"?`)
    }
  })

  it("Process.spawn refuses run()'s own options", () => {
    expect(thrown(() => native.spawn(["true"], { env, nothrow: true } as never)).code).toBe("ERR_INVALID_ARG_VALUE")
  })

  it("the other API's names are refused with the name to use", () => {
    const cases: [() => unknown, string[]][] = [
      [() => supervise(["true"], { env, abort: AbortSignal.abort() } as never), ['"signal"']],
      [() => supervise(["true"], { env, reject: false } as never), ['"code"']],
      [() => supervise(["true"], { env, buffer: true } as never), ["lines()"]],
      [() => supervise(["true"], { env, kill: "SIGINT" } as never), ['"killSignal"']],
      [() => supervise(["true"], { env, cancelSignal: AbortSignal.abort() } as never), ['"signal"']],
      [() => native.spawn(["true"], { env, killSignal: "SIGINT" } as never), ['"kill"']],
      [() => native.spawn(["true"], { env, input: "x" } as never), ["child.stdin", "Process.run"]],
      [() => native.spawn(["true"], { env, graceMs: 100 } as never), ['"timeout"']],
      [() => native.spawn(["true"], { env, timeoutMs: 100 } as never), ['"timeoutMs"', "supervise()"]],
    ]
    for (const [f, says] of cases) {
      const e = thrown(f)
      expect(e).toBeInstanceOf(TypeError)
      expect(e.code).toBe("ERR_INVALID_ARG_VALUE")
      for (const s of says) expect(e.message).toContain(s)
    }
  })
})

describe("one cancellation name: signal, in both APIs (abort: the baseline's alias in Process)", () => {
  it("Process.spawn takes signal and abort alike, and refuses two different ones", async () => {
    for (const key of ["signal", "abort"] as const) {
      const ac = new AbortController()
      const c = native.spawn(["sleep", "30"], { env, [key]: ac.signal, timeout: 100 })
      ac.abort()
      expect(await within(c.exited, 10_000, `exited (${key})`)).toBe(1)
    }
    const e = thrown(() => native.spawn(["true"], { env, signal: new AbortController().signal, abort: new AbortController().signal }))
    expect(e.code).toBe("ERR_INVALID_ARG_VALUE")
    expect(e.message).toContain('give one')
  })

  it("Process.run with an already aborted signal rejects like with abort", async () => {
    const e = await native.run(["true"], { env, signal: AbortSignal.abort() }).then(() => undefined, (x) => x)
    expect(e.name).toBe("AbortError")
  })
})

describe('supervise() refuses "timeout" (a run limit to Node and execa, the grace to Process)', () => {
  it("with a message that points to timeoutMs (run limit) and graceMs", () => {
    const e = thrown(() => supervise(["sleep", "30"], { env, timeout: 1000 } as never))
    expect(e).toBeInstanceOf(TypeError)
    expect(e.code).toBe("ERR_INVALID_ARG_VALUE")
    expect(e.message).toMatch(/^Unknown option "timeout" — /)
    expect(e.message).toContain('"timeoutMs" for a run-time limit')
    expect(e.message).toContain('"graceMs" for the time between the first signal and SIGKILL')
  })

  it("while Process keeps it as the grace after an abort", async () => {
    const ac = new AbortController()
    const c = native.spawn(["sh", fixture("ignore-sigterm.sh")], { env, abort: ac.signal, timeout: 300, stdout: "pipe" })
    await new Promise((r) => c.stdout!.once("data", r))
    const t0 = Date.now()
    ac.abort()
    await within(c.exited, 10_000, "exited")
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250)
    expect(Date.now() - t0).toBeLessThan(4000)
  })
})

describe("defaults", () => {
  const c = loadAddon().constants

  it("the grace and the drain bounds are the addon's (go/capi/pws.h), 5000/1000/10000", () => {
    expect(SUPERVISE_OPTIONS.graceMs.default).toBe(c.DEFAULT_GRACE_MS)
    expect(PROCESS_OPTIONS.timeout.default).toBe(c.DEFAULT_GRACE_MS)
    expect(RUN_OPTIONS.timeout.default).toBe(c.DEFAULT_GRACE_MS)
    expect(c.DEFAULT_GRACE_MS).toBe(5000)
    expect(SUPERVISE_OPTIONS.drainIdleMs.default).toBe(c.DEFAULT_DRAIN_IDLE_MS)
    expect(SUPERVISE_OPTIONS.drainMaxMs.default).toBe(c.DEFAULT_DRAIN_MAX_MS)
  })

  it("an omitted option (or undefined) is its default", () => {
    const all = {
      cwd: undefined,
      env: undefined,
      stdin: "ignore",
      stdout: "ignore",
      stderr: "ignore",
      shell: false,
      signal: undefined,
      timeoutMs: undefined,
      graceMs: 5000,
      killSignal: osConstants.signals.SIGTERM,
      killTreeOnExit: false,
      holdLeftovers: false,
      drainIdleMs: 1000,
      drainMaxMs: 10000,
      forwardSignals: false,
      input: undefined,
      all: false,
      maxBuffer: undefined,
    }
    expect(resolveOptions(SUPERVISE_OPTIONS, {}, "supervise", "options")).toEqual(all)
    expect(resolveOptions(SUPERVISE_OPTIONS, undefined, "supervise", "options")).toEqual(all)
    expect(resolveOptions(SUPERVISE_OPTIONS, { graceMs: undefined, stdin: undefined }, "supervise", "options")).toEqual(all)
    expect(resolveOptions(RUN_OPTIONS, {}, "Process", "opts")).toEqual({
      cwd: undefined,
      env: undefined,
      stdin: "ignore",
      shell: false,
      signal: undefined,
      abort: undefined,
      kill: osConstants.signals.SIGTERM,
      timeout: 5000,
      nothrow: false,
      input: undefined,
      maxBuffer: undefined,
    })
  })

  it("options that are not an object: TypeError ERR_INVALID_ARG_TYPE", () => {
    for (const bad of [null, 5, "x"]) {
      expect(thrown(() => supervise(["true"], bad as never)).code).toBe("ERR_INVALID_ARG_TYPE")
      expect(thrown(() => native.spawn(["true"], bad as never)).code).toBe("ERR_INVALID_ARG_TYPE")
    }
  })

  it("the grace of a cancel without graceMs is the default, 5 s, on the real core", async () => {
    const c = supervise(["sh", fixture("ignore-sigterm.sh")], { env, stdout: "pipe" })
    await new Promise((r) => c.stdout!.once("data", r))
    const o = await within(c.cancel(), 15_000, "outcome")
    expect(o.reason).toBe("stop")
    expect(o.phases.graceMs).toBeGreaterThanOrEqual(4900)
    expect(o.phases.graceMs).toBeLessThan(6000)
  }, 20_000)
})

describe("nearest", () => {
  it("is the least edit distance, ignoring case; ties go to the longest common prefix", () => {
    expect(distance("timout", "timeoutMs")).toBe(3)
    expect(distance("timout", "stdout")).toBe(3)
    expect(nearest("timout", ["stdout", "timeoutMs"])).toBe("timeoutMs")
    expect(distance("GRACEMS", "graceMs")).toBe(0)
    expect(nearest("x", ["a", "b"])).toBe("a")
  })
})
