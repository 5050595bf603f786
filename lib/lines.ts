// Line iteration over one or two output streams, as the lines arrive: each stream is
// split on its own ("\n", a "\r" before it dropped) so that two streams never mix within a
// line, and a slow consumer pauses the sources instead of buffering everything.
import type { Readable } from "node:stream"
import { StringDecoder } from "node:string_decoder"

/** Lines waiting for the consumer before the sources are paused. */
const HIGH_WATER = 1024

export function lineIterator(sources: Readable[]): AsyncIterableIterator<string> {
  const queue: string[] = []
  let open = sources.length
  let failed: Error | undefined
  let wake: (() => void) | undefined
  let paused = false
  const notify = () => {
    const w = wake
    wake = undefined
    w?.()
  }
  const detach: (() => void)[] = []
  for (const src of sources) {
    const decoder = new StringDecoder("utf8")
    let partial = ""
    let done = false
    const take = (text: string, last: boolean) => {
      partial += text
      const parts = partial.split("\n")
      partial = last ? "" : parts.pop()!
      if (last && parts[parts.length - 1] === "") parts.pop()
      for (const l of parts) queue.push(l.endsWith("\r") ? l.slice(0, -1) : l)
    }
    const onData = (chunk: Buffer | string) => {
      take(typeof chunk === "string" ? chunk : decoder.write(chunk), false)
      if (queue.length >= HIGH_WATER && !paused) {
        paused = true
        for (const s of sources) s.pause()
      }
      notify()
    }
    const onEnd = () => {
      if (done) return
      done = true
      take(decoder.end(), true)
      open--
      notify()
    }
    const onError = (err: Error) => {
      failed ??= err
      onEnd()
    }
    src.on("data", onData)
    src.once("end", onEnd)
    src.once("close", onEnd)
    src.once("error", onError)
    detach.push(() => {
      src.off("data", onData)
      src.off("end", onEnd)
      src.off("close", onEnd)
      src.off("error", onError)
      // Nobody reads any more: let it flow into nothing, so the tree is never blocked.
      src.resume()
    })
  }
  const finish = () => {
    for (const d of detach.splice(0)) d()
  }
  const it: AsyncIterableIterator<string> = {
    async next(): Promise<IteratorResult<string>> {
      for (;;) {
        if (queue.length > 0) {
          const value = queue.shift()!
          if (paused && queue.length < HIGH_WATER / 2) {
            paused = false
            for (const s of sources) s.resume()
          }
          return { value, done: false }
        }
        if (open === 0) {
          finish()
          if (failed) throw failed
          return { value: undefined, done: true }
        }
        await new Promise<void>((resolve) => (wake = resolve))
      }
    },
    async return(): Promise<IteratorResult<string>> {
      finish()
      queue.length = 0
      open = 0
      return { value: undefined, done: true }
    },
    [Symbol.asyncIterator]() {
      return it
    },
  }
  return it
}
