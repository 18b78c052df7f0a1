// A TCP proxy for fault tests: clients connect to the proxy, which forwards to a target. cut()
// destroys every open connection and refuses new ones (the target looks down, as when PostgreSQL
// stops); restore() accepts again. Used instead of stopping the shared PostgreSQL server.
import { createConnection, createServer, type Server, type Socket } from 'node:net'

export class TcpProxy {
  readonly #server: Server
  readonly #sockets = new Set<Socket>()
  #cut = false
  port = 0

  constructor (targetHost: string, targetPort: number) {
    this.#server = createServer(client => {
      if (this.#cut) { client.destroy(); return }
      const upstream = createConnection({ host: targetHost, port: targetPort })
      this.#sockets.add(client)
      this.#sockets.add(upstream)
      const close = (): void => {
        client.destroy()
        upstream.destroy()
        this.#sockets.delete(client)
        this.#sockets.delete(upstream)
      }
      client.on('error', close).on('close', close)
      upstream.on('error', close).on('close', close)
      client.pipe(upstream)
      upstream.pipe(client)
    })
  }

  async listen (): Promise<number> {
    await new Promise<void>(resolve => this.#server.listen(0, '127.0.0.1', resolve))
    this.port = (this.#server.address() as { port: number }).port
    return this.port
  }

  cut (): void {
    this.#cut = true
    for (const s of this.#sockets) s.destroy()
    this.#sockets.clear()
  }

  restore (): void {
    this.#cut = false
  }

  /** A hang, not a cut: the open connections stay up but nothing flows either way (a paused
   *  container, a black-holed network) until thaw(). New connections still open. */
  freeze (): void {
    for (const s of this.#sockets) s.pause()
  }

  thaw (): void {
    for (const s of this.#sockets) s.resume()
  }

  async close (): Promise<void> {
    this.cut()
    await new Promise<void>(resolve => this.#server.close(() => resolve()))
  }
}
