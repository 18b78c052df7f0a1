// bench/api-balance.ts --inProcess: a server's own JavaScript per request, without a socket
// (docs/benchmarks.md "API balance query, eighth pass").
import { IncomingMessage, ServerResponse, type Server } from 'node:http'
import { Socket } from 'node:net'

/** CPU µs per request of `server`'s JavaScript alone, `count` requests for `paths` in turn emitted
 *  on its 'request' event without a socket (the answer buffered in the response). */
export async function inProcessCpu (server: Server, paths: string[], headers: Record<string, string>, count: number): Promise<{ us: number, status: number }> {
  const socket = new Socket()
  let last: ServerResponse | undefined
  const one = (path: string): void => {
    const request = new IncomingMessage(socket)
    request.method = 'GET'
    request.url = path
    request.httpVersionMajor = 1
    request.httpVersionMinor = 1
    request.httpVersion = '1.1'
    request.headers = { host: '127.0.0.1', ...headers }
    request.complete = true
    request.push(null)
    const response = new ServerResponse(request)
    server.emit('request', request, response)
    last = response
  }
  await new Promise(resolve => setImmediate(resolve))
  const cpu0 = process.cpuUsage()
  for (let i = 0; i < count; i++) {
    one(paths[i % paths.length]!)
    // Let the responses' deferred work (nextTicks, the requests' end) run as it would between reads.
    if ((i & 1023) === 1023) await new Promise(resolve => setImmediate(resolve))
  }
  await new Promise(resolve => setImmediate(resolve))
  const cpu = process.cpuUsage(cpu0)
  // Answered, and 200 (a response not yet ended still reads 200: e.g. an expired token's check).
  return { us: (cpu.user + cpu.system) / count, status: last?.writableEnded === true ? last.statusCode : 0 }
}
