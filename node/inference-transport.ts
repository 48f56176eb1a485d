import type { Connection, Stream } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import {
  FRAME_BYTES_MAX,
  type FrameStream,
  INFERENCE_PROTOCOL,
  type InferenceTransport,
} from "../market/index.ts";
import { framedStream, type NetworkHost } from "../net/index.ts";

/** One inference request per libp2p stream; both sides stop the stream after this long without a frame. */
const INFERENCE_STREAM_IDLE_MS = 60_000;

/** The market's frame stream over one libp2p stream: length-prefixed frames, bounded in size, written in order. */
export function frameStream(stream: Stream): FrameStream {
  stream.inactivityTimeout = INFERENCE_STREAM_IDLE_MS;
  const lp = framedStream(stream, FRAME_BYTES_MAX);
  let writes: Promise<void> = Promise.resolve();
  return {
    send(frame) {
      writes = writes
        .then(() => lp.write(frame))
        .catch(() => stream.abort(new Error("inference stream write failed")));
    },
    frames: (async function* () {
      for (;;) {
        let frame: Uint8Array;
        try {
          frame = (await lp.read()).subarray();
        } catch {
          return;
        }
        yield new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength);
      }
    })(),
    close() {
      void writes.then(() => stream.close()).catch(() => {});
    },
    abort(reason) {
      stream.abort(new Error(reason));
    },
  };
}

/** The client side: open an inference stream to a provider's peer. */
export function libp2pInferenceTransport(host: NetworkHost): InferenceTransport {
  return {
    async open(peerId, signal) {
      const stream = await host.libp2p.dialProtocol(
        peerIdFromString(peerId),
        host.protocolId(INFERENCE_PROTOCOL),
        {
          signal: signal ?? AbortSignal.timeout(10_000),
        },
      );
      return frameStream(stream);
    },
  };
}

/** The provider side: every inbound inference stream goes to `handle` with the caller's peer id. */
export async function serveInference(
  host: NetworkHost,
  handle: (peerId: string, stream: FrameStream) => Promise<void>,
): Promise<void> {
  await host.libp2p.handle(
    host.protocolId(INFERENCE_PROTOCOL),
    async (stream: Stream, connection: Connection) => {
      await handle(connection.remotePeer.toString(), frameStream(stream)).catch(() =>
        stream.abort(new Error("inference failed")),
      );
    },
    { force: true, maxInboundStreams: 64 },
  );
}
