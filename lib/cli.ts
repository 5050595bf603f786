#!/usr/bin/env node
// pawwork-supervise: one command run contained, for shells, CI and other languages (as
// coreutils `timeout` or `tini` are used):
//
//   pawwork-supervise [--timeout 10s] [--grace 2s] [--kill-tree-on-exit] [--json] -- cmd args…
//
// The command's tree is contained (the helper where there is one). stdin, stdout and stderr
// are the command's own (inherited). SIGINT, SIGTERM and SIGHUP sent to us are forwarded to
// the whole tree, as the first signal of the ladder (--grace, then SIGKILL; a second
// signal: SIGKILL at once). We exit with
// the command's code; 124 when --timeout fired (as `timeout` does); 128+n when the command
// died by signal n; 125 for our own usage errors; 126 when the command cannot be run, 127
// when it is not found (as shells do). --json prints the outcome as JSON on stderr.
import { constants as osConstants } from "node:os"
import { supervise } from "./child"
import type { Outcome } from "./child"

export const EXIT_TIMEOUT = 124
export const EXIT_USAGE = 125
export const EXIT_CANNOT_RUN = 126
export const EXIT_NOT_FOUND = 127

const USAGE = "usage: pawwork-supervise [--timeout DURATION] [--grace DURATION] [--kill-tree-on-exit] [--json] -- cmd [args…]\n" + "  DURATION: a number of seconds, or with a unit: 500ms, 10s, 2m, 1h"

export interface CliArgs {
  timeoutMs?: number
  graceMs?: number
  killTreeOnExit: boolean
  json: boolean
  cmd: string[]
}

class UsageError extends Error {}

/** "10s", "500ms", "2m", "1h", or a bare number of seconds (as coreutils timeout) → ms. */
export function parseDuration(s: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s)
  if (!m) throw new UsageError(`${flag}: not a duration: ${JSON.stringify(s)}`)
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "s") as "ms" | "s" | "m" | "h"]
  return Math.round(Number(m[1]) * unit)
}

/** Our flags, then "--", then the command (the "--" may be left out before a command that starts without "-"). */
export function parseArgs(argv: string[]): CliArgs {
  const out: CliArgs = { killTreeOnExit: false, json: false, cmd: [] }
  let i = 0
  for (; i < argv.length; i++) {
    const a = argv[i]
    if (a === "--") {
      i++
      break
    }
    if (!a.startsWith("-")) break
    const [flag, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined]
    const value = () => {
      if (inline !== undefined) return inline
      if (i + 1 >= argv.length) throw new UsageError(`${flag} needs a value`)
      return argv[++i]
    }
    switch (flag) {
      case "--timeout":
        out.timeoutMs = parseDuration(value(), flag)
        break
      case "--grace":
        out.graceMs = parseDuration(value(), flag)
        break
      case "--kill-tree-on-exit":
        out.killTreeOnExit = true
        break
      case "--json":
        out.json = true
        break
      case "-h":
      case "--help":
        throw new UsageError("")
      default:
        throw new UsageError(`unknown option ${flag}`)
    }
  }
  out.cmd = argv.slice(i)
  if (out.cmd.length === 0) throw new UsageError("no command given")
  return out
}

/** Our exit code for an outcome, by coreutils timeout's rules. */
export function exitCodeOf(o: Outcome): number {
  if (o.reason === "timeout") return EXIT_TIMEOUT
  if (o.code !== null) return o.code
  const n = o.signal ? osConstants.signals[o.signal] : undefined
  return n ? 128 + n : 1
}

const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP"] as const

export async function main(argv: string[]): Promise<number> {
  let args: CliArgs
  try {
    args = parseArgs(argv)
  } catch (e) {
    if (!(e instanceof UsageError)) throw e
    if (e.message) process.stderr.write(`pawwork-supervise: ${e.message}\n`)
    process.stderr.write(USAGE + "\n")
    return e.message ? EXIT_USAGE : 0
  }
  // Our handlers replace Node's default action (dying by the signal): the tree gets the
  // signal first, and we exit when it has ended, with 128+n by its leader's death.
  // A second signal (a second Ctrl-C) does not wait out the grace: SIGKILL to every member now.
  // They are in place before the command starts: Node installs its signal handler only with
  // the first listener, and a signal that came between the start (the command may already
  // run and print) and the listeners killed us by the default action instead, leaving the
  // tree to the helper. A signal that comes while supervise() runs is delivered after it.
  let child: ReturnType<typeof supervise> | undefined
  let signalled = false
  const forward = (sig: NodeJS.Signals) => () => {
    if (!child) return
    if (signalled) {
      child.signalTree("SIGKILL")
      return
    }
    signalled = true
    child.cancel({ signal: sig }).catch(() => undefined)
  }
  const handlers = FORWARDED.map((sig) => [sig, forward(sig)] as const)
  for (const [sig, h] of handlers) process.on(sig, h)
  try {
    child = supervise(args.cmd, {
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
      timeoutMs: args.timeoutMs,
      graceMs: args.graceMs,
      killTreeOnExit: args.killTreeOnExit,
    })
  } catch (e) {
    for (const [sig, h] of handlers) process.off(sig, h)
    // The library refused a value (a duration beyond its range): ours to report.
    process.stderr.write(`pawwork-supervise: ${(e as Error).message}\n${USAGE}\n`)
    return EXIT_USAGE
  }
  try {
    const o = await child
    if (args.json) process.stderr.write(JSON.stringify(o) + "\n")
    return exitCodeOf(o)
  } catch (e) {
    const err = e as NodeJS.ErrnoException
    process.stderr.write(`pawwork-supervise: ${args.cmd[0]}: ${err.message}\n`)
    if (args.json) process.stderr.write(JSON.stringify({ error: { code: err.code, message: err.message } }) + "\n")
    return err.code === "ENOENT" ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN
  } finally {
    for (const [sig, h] of handlers) process.off(sig, h)
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code
    },
    (e) => {
      process.stderr.write(`pawwork-supervise: ${(e as Error).stack ?? e}\n`)
      process.exitCode = EXIT_USAGE
    },
  )
}
