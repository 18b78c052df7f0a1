// Asks a Kafka broker for its metadata over the wire protocol (no dependencies, so it works before
// `npm ci`). Exit 0 when the broker answers with at least one registered broker and an active
// controller; exit 1 otherwise. Usage: node kafka-probe.mjs host:port [timeoutMs]
import net from 'node:net'

const [host, portText] = (process.argv[2] ?? '127.0.0.1:9092').split(':')
const timeoutMs = Number(process.argv[3] ?? 2000)

// Metadata v4 (non-flexible): topics = [] (no topics), allow_auto_topic_creation = false.
function metadataRequest () {
  const clientId = Buffer.from('rewards-probe')
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + 4 + 1)
  let o = 0
  o = body.writeInt16BE(3, o) // api key: Metadata
  o = body.writeInt16BE(4, o) // api version
  o = body.writeInt32BE(7, o) // correlation id
  o = body.writeInt16BE(clientId.length, o)
  o += clientId.copy(body, o)
  o = body.writeInt32BE(0, o) // empty topics array
  body.writeInt8(0, o)
  const size = Buffer.alloc(4)
  size.writeInt32BE(body.length)
  return Buffer.concat([size, body])
}

function parse (buf) {
  let o = 4 // size
  const correlationId = buf.readInt32BE(o); o += 4
  if (correlationId !== 7) throw new Error('unexpected correlation id')
  o += 4 // throttle
  const brokers = buf.readInt32BE(o); o += 4
  for (let i = 0; i < brokers; i++) {
    o += 4
    const hostLen = buf.readInt16BE(o); o += 2 + hostLen
    o += 4
    const rackLen = buf.readInt16BE(o); o += 2 + Math.max(rackLen, 0)
  }
  const clusterLen = buf.readInt16BE(o); o += 2 + Math.max(clusterLen, 0)
  const controllerId = buf.readInt32BE(o)
  return { brokers, controllerId }
}

const socket = net.connect({ host, port: Number(portText) })
const timer = setTimeout(() => { socket.destroy(); process.exit(1) }, timeoutMs)
let data = Buffer.alloc(0)
socket.on('connect', () => socket.write(metadataRequest()))
socket.on('data', chunk => {
  data = Buffer.concat([data, chunk])
  if (data.length < 4 || data.length < 4 + data.readInt32BE(0)) return
  clearTimeout(timer)
  socket.destroy()
  try {
    const { brokers, controllerId } = parse(data)
    process.exit(brokers > 0 && controllerId >= 0 ? 0 : 1)
  } catch {
    process.exit(1)
  }
})
socket.on('error', () => { clearTimeout(timer); process.exit(1) })
