// One forwarded query to an owner instance (api/query/member-queries.ts), its body read whole as
// text. undici's dispatch() with a handler of its own rather than request(): request() parses a
// URL per call and hands the body over as a Readable stream, the largest pieces of undici's share
// of the forwarded balance query's profile (docs/benchmarks.md "API balance query, fourth
// pass"). The connections are the dispatcher's (a keep-alive pool per owner).
import type { Dispatcher } from 'undici'
import type { IncomingHttpHeaders } from 'node:http'

export interface ForwardRequest {
  /** `http://host:port`, the pool's key in the dispatcher: no URL parsed per request. */
  readonly origin: string
  readonly method: 'GET' | 'POST'
  readonly path: string
  readonly headers: Record<string, string>
  readonly body?: string
}

export interface ForwardAnswer {
  readonly statusCode: number
  /** By lower-case name, as undici parses them. */
  readonly headers: IncomingHttpHeaders
  readonly text: string
}

/** Sends `request` and resolves with the whole answer; rejects when the connection fails or
 *  `signal` aborts (its reason) before the answer is complete — at once, even while the request
 *  still waits for a free connection (it is then abandoned when its turn comes). */
export function forwardRequest (dispatcher: Dispatcher, request: ForwardRequest, signal: AbortSignal): Promise<ForwardAnswer> {
  return new Promise<ForwardAnswer>((resolve, reject) => {
    if (signal.aborted) { reject(signal.reason as Error); return }
    let controller: Dispatcher.DispatchController | undefined
    let statusCode = 0
    let headers: IncomingHttpHeaders = {}
    const chunks: Buffer[] = []
    const onAbort = (): void => {
      if (controller !== undefined) controller.abort(signal.reason as Error)
      else reject(signal.reason as Error)
    }
    signal.addEventListener('abort', onAbort, { once: true })
    const settle = (): void => { signal.removeEventListener('abort', onAbort) }
    dispatcher.dispatch({ origin: request.origin, path: request.path, method: request.method, headers: request.headers, ...(request.body !== undefined ? { body: request.body } : {}) }, {
      onRequestStart (started) {
        controller = started
        if (signal.aborted) started.abort(signal.reason as Error)
      },
      onResponseStart (_controller, status, answerHeaders) {
        statusCode = status
        headers = answerHeaders
      },
      onResponseData (_controller, chunk) { chunks.push(chunk) },
      onResponseEnd () {
        settle()
        resolve({ statusCode, headers, text: chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8') })
      },
      onResponseError (_controller, error) {
        settle()
        reject(error)
      }
    })
  })
}
