import type { CommitRange, ConsensusNetwork, ConsensusService } from "../consensus/index.ts";
import {
  type Block,
  type BlockRef,
  BlockRefCodec,
  blockDigest,
  CodecError,
  CommitCodec,
  decodeBlock,
  decodeCommit,
  encode,
  encodeBlock,
  encodeCommit,
  FieldReader,
  HyperspaceError,
  toHex,
  unpackValue,
  verifyBlockSignature,
} from "../spec/index.ts";
import { Protocol, REQUEST_BYTES_MAX, RESPONSE_BYTES_MAX } from "./constants.ts";
import { NetError } from "./errors.ts";
import type { NetworkHost } from "./host.ts";

/** A fetch asks for at most this many blocks: 1,000 references is 48 KB, inside REQUEST_BYTES_MAX. */
export const FETCH_REFS_MAX = 1_000;
/** Commit sync returns at most this many commits per request; the caller asks again for the rest. */
export const FETCH_COMMITS_MAX = 100;
/** Authorities per fetch-latest request: a committee's worth. */
export const FETCH_AUTHORS_MAX = 1_024;

/** Blocks in one commit-sync response: each of FETCH_COMMITS_MAX commits holds about one round of blocks, with room for catch-up commits. */
export const COMMIT_SYNC_BLOCKS_MAX = FETCH_COMMITS_MAX * 64;

enum FetchKind {
  Blocks = 0,
  LatestBlocks = 1,
  Commits = 2,
}

export interface CommitteePeer {
  readonly authority: number;
  readonly publicKey: Uint8Array;
  readonly peerId: string;
  readonly addresses: readonly string[];
}

/**
 * The consensus network over libp2p: every block goes to every other
 * validator on a long-lived push stream, and missing blocks and commits are
 * fetched by request/response. Frames from peers outside the committee are
 * refused; undecodable or invalid blocks cost the sender score.
 */
export class ConsensusTransport implements ConsensusNetwork {
  private readonly peerOf = new Map<number, string>();
  private readonly authorityOf = new Map<string, number>();
  private readonly publicKeyOf = new Map<number, Uint8Array>();

  constructor(
    private readonly host: NetworkHost,
    peers: readonly CommitteePeer[],
    private readonly ownAuthority: number | null,
  ) {
    for (const peer of peers) {
      this.peerOf.set(peer.authority, peer.peerId);
      this.authorityOf.set(peer.peerId, peer.authority);
      this.publicKeyOf.set(peer.authority, peer.publicKey);
    }
  }

  async start(service: ConsensusService, peers: readonly CommitteePeer[]): Promise<void> {
    for (const peer of peers) await this.host.addPeerAddresses(peer.peerId, peer.addresses);
    await this.host.handlePush(Protocol.ConsensusPush, (frame, peerId) => {
      const authority = this.authorityOf.get(peerId);
      if (authority === undefined) {
        this.host.penalise(peerId, "Malformed");
        return;
      }
      let block: Block;
      try {
        block = decodeBlock(frame);
      } catch (error) {
        if (!(error instanceof CodecError)) throw error;
        this.host.penalise(peerId, "Malformed");
        return;
      }
      // Validators push only their own blocks: anything else, or a bad signature, is the sender's fault.
      const publicKey = this.publicKeyOf.get(authority);
      if (block.author !== authority || publicKey === undefined || !verifyBlockSignature(block, publicKey)) {
        this.host.penalise(peerId, "InvalidSignature");
        return;
      }
      try {
        service.handleBlock(authority, block, frame.byteLength);
      } catch (error) {
        if (!(error instanceof HyperspaceError)) throw error;
        this.host.penalise(peerId, "InvalidBlock");
      }
    });
    await this.host.handleRequests(
      Protocol.ConsensusFetch,
      async (request, peerId) => {
        const authority = this.authorityOf.get(peerId) ?? -1;
        return this.serve(service, authority, request, peerId);
      },
      REQUEST_BYTES_MAX,
    );
  }

  /** Full nodes fetch too: they are not in the committee, so their requests carry authority -1. */
  private async serve(
    service: ConsensusService,
    authority: number,
    request: Uint8Array,
    peerId: string,
  ): Promise<Uint8Array> {
    let decoded: unknown;
    try {
      decoded = unpackValue("FetchRequest", request, REQUEST_BYTES_MAX);
    } catch (error) {
      this.host.penalise(peerId, "Malformed");
      throw error;
    }
    const reader = FieldReader.of("FetchRequest", decoded, 2);
    const kind = reader.integer("kind", 2);
    if (kind === FetchKind.Blocks) {
      const refs = reader
        .array("refs", FETCH_REFS_MAX)
        .map((r, i) => BlockRefCodec.fromValue(r, `refs[${i}]`));
      return encode((await service.handleFetchBlocks(authority, refs)).map(encodeBlock));
    }
    if (kind === FetchKind.LatestBlocks) {
      const authors = reader
        .array("authors", FETCH_AUTHORS_MAX)
        .map((a) => FieldReader.of("author", [a], 1).integer("author", 1023));
      return encode((await service.handleFetchLatestBlocks(authority, authors)).map(encodeBlock));
    }
    const range = FieldReader.of("range", reader.array("range", 2), 2);
    const from = range.integer("from");
    const to = Math.min(range.integer("to"), from + FETCH_COMMITS_MAX - 1);
    return encodeCommitRange(await service.handleFetchCommits(authority, from, to));
  }

  broadcastBlock(block: Block): void {
    const frame = encodeBlock(block);
    for (const [authority, peerId] of this.peerOf) {
      if (authority !== this.ownAuthority) this.host.push(peerId, Protocol.ConsensusPush, frame);
    }
  }

  private peer(authority: number): string {
    const peerId = this.peerOf.get(authority);
    if (peerId === undefined)
      throw new NetError("PEER_UNREACHABLE", `no peer for authority ${authority}`, {});
    return peerId;
  }

  private fetch(authority: number, request: unknown[]): Promise<unknown> {
    return this.host.requestValue(this.peer(authority), Protocol.ConsensusFetch, request, "FetchResponse");
  }

  private decodeBlocks(authority: number, value: unknown, maxItems = FETCH_REFS_MAX): Block[] {
    const items = FieldReader.of("FetchResponse", [value], 1).array("blocks", maxItems);
    try {
      return items.map((item) =>
        decodeBlock(FieldReader.of("block", [item], 1).bytes("block", { max: RESPONSE_BYTES_MAX })),
      );
    } catch (error) {
      this.host.penalise(this.peer(authority), "Malformed");
      throw error;
    }
  }

  async fetchBlocks(peer: number, refs: readonly BlockRef[]): Promise<Block[]> {
    const value = await this.fetch(peer, [
      FetchKind.Blocks,
      refs.slice(0, FETCH_REFS_MAX).map(BlockRefCodec.toValue),
    ]);
    return this.decodeBlocks(peer, value);
  }

  async fetchLatestBlocks(peer: number, authors: readonly number[]): Promise<Block[]> {
    return this.decodeBlocks(peer, await this.fetch(peer, [FetchKind.LatestBlocks, [...authors]]));
  }

  async fetchCommits(peer: number, fromIndex: number, toIndex: number): Promise<CommitRange> {
    const value = await this.fetch(peer, [FetchKind.Commits, [fromIndex, toIndex]]);
    const reader = FieldReader.of("CommitRange", value, 2);
    const commits = reader
      .array("commits", FETCH_COMMITS_MAX)
      .map((item) =>
        decodeCommit(FieldReader.of("commit", [item], 1).bytes("commit", { max: CommitCodec.maxBytes })),
      );
    const blocks = this.decodeBlocks(
      peer,
      reader.array("blocks", COMMIT_SYNC_BLOCKS_MAX),
      COMMIT_SYNC_BLOCKS_MAX,
    );
    return { commits, blocks };
  }
}

/**
 * Encodes as many whole commits, in order, as fit the response bounds (bytes
 * and block count); the requester asks again from the next index.
 */
function encodeCommitRange(range: CommitRange): Uint8Array {
  const byDigest = new Map(range.blocks.map((b) => [toHex(blockDigest(b)), b]));
  const commits: Uint8Array[] = [];
  const blocks: Uint8Array[] = [];
  let bytes = 0;
  for (const commit of range.commits) {
    const encodedCommit = encodeCommit(commit);
    const encodedBlocks = commit.blocks.flatMap((ref) => {
      const block = byDigest.get(toHex(ref.digest));
      return block === undefined ? [] : [encodeBlock(block)];
    });
    const size = encodedCommit.byteLength + encodedBlocks.reduce((sum, b) => sum + b.byteLength + 8, 0);
    const full =
      bytes + size > RESPONSE_BYTES_MAX - 1024 ||
      blocks.length + encodedBlocks.length > COMMIT_SYNC_BLOCKS_MAX;
    if (full && commits.length > 0) break;
    commits.push(encodedCommit);
    blocks.push(...encodedBlocks);
    bytes += size;
  }
  return encode([commits, blocks]);
}
