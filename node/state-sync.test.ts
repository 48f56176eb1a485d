/**
 * State sync between real libp2p hosts on loopback, with in-memory stores:
 * an honest server, a peer that offers a forged (under-signed) newer
 * checkpoint, and a peer that offers the real checkpoint but serves a
 * tampered state. The syncing node ends with the honest state, and only
 * the two liars lose score.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Committee } from "../consensus/index.ts";
import { buildTransfer, Ledger, MemoryStore } from "../ledger/index.ts";
import { ADDRESSES, CHAIN_ID, KEYS, testGenesis } from "../ledger/test-fixtures.ts";
import { type NetworkHost, StateSyncTransport } from "../net/index.ts";
import { loopbackHost } from "../net/testing.ts";
import {
  type Commit,
  commitDigest,
  createSigner,
  encodeTransaction,
  GENESIS_COMMIT_DIGEST,
  generateKeyPair,
  toHex,
} from "../spec/index.ts";
import { RocksConsensusStore } from "./consensus-store.ts";
import { createLogger } from "./logger.ts";
import { signStateRootVote } from "./state-certifier.ts";
import { StateSync } from "./state-sync.ts";
import {
  CHECKPOINT_INTERVAL_COMMITS,
  type CheckpointCertificate,
  encodeCheckpointOffer,
} from "./state-sync-certificate.ts";

const genesis = testGenesis();
const validatorKeys = Array.from({ length: 4 }, () => generateKeyPair());
const committee = new Committee(validatorKeys.map((k) => ({ stake: 1, publicKey: k.publicKey })));
const log = createLogger("silent");
const INDEX = CHECKPOINT_INTERVAL_COMMITS;

const host = () => loopbackHost(CHAIN_ID);

function certify(
  index: number,
  commit: Commit,
  stateRoot: Uint8Array,
  signers: number[],
): CheckpointCertificate {
  const digest = commitDigest(commit);
  return {
    chainId: CHAIN_ID,
    index,
    commitDigest: digest,
    stateRoot,
    signatures: signers.map((authority) => ({
      authority,
      signature: signStateRootVote(
        CHAIN_ID,
        index,
        digest,
        stateRoot,
        authority,
        createSigner(validatorKeys[authority]!.secretKey),
      ).signature,
    })),
  };
}

async function node(h: NetworkHost, timeoutMs?: number) {
  const store = new MemoryStore();
  const ledger = await Ledger.open({ store, genesis, snapshotIntervalCommits: CHECKPOINT_INTERVAL_COMMITS });
  const consensusStore = new RocksConsensusStore(store);
  const sync = await StateSync.open({
    chainId: CHAIN_ID,
    committee,
    ledger,
    store,
    consensusStore,
    host: h,
    log,
    timeoutMs,
  });
  return { store, ledger, consensusStore, sync };
}

describe("state sync between peers", () => {
  const hosts: NetworkHost[] = [];
  let honest: Awaited<ReturnType<typeof node>>;
  let checkpoint: Commit;

  before(async () => {
    const [honestHost, forger, tamperer, client, lonely] = await Promise.all(Array.from({ length: 5 }, host));
    hosts.push(honestHost!, forger!, tamperer!, client!, lonely!);
    honest = await node(honestHost!);
    let previous: Uint8Array = GENESIS_COMMIT_DIGEST;
    for (let index = 1; index <= INDEX; index++) {
      const commit: Commit = {
        index,
        previousDigest: previous,
        leader: { round: index, author: index % 4, digest: new Uint8Array(32).fill(index % 256) },
        blocks: [],
        timestampMs: 1_700_000_000_000 + index,
      };
      const transactions =
        index % 10 === 0
          ? [
              encodeTransaction(
                buildTransfer({
                  chainId: CHAIN_ID,
                  keys: KEYS[0]!,
                  nonce: index / 10 - 1,
                  fee: 5n,
                  to: ADDRESSES[1]!,
                  amount: 7n,
                }),
              ),
            ]
          : [];
      await honest.ledger.applyCommit({
        index,
        timestampMs: commit.timestampMs,
        feeRecipient: ADDRESSES[2]!,
        transactions,
      });
      await honest.consensusStore.write({ blocks: [], commits: [commit], ownLastBlock: null });
      previous = commitDigest(commit);
      checkpoint = commit;
    }
    await honest.sync.addCertificate(certify(INDEX, checkpoint, honest.ledger.stateRoot, [0, 1, 2]));
    await honest.sync.serve();

    // A newer checkpoint, signed by one validator only: not a quorum.
    const forged = { ...checkpoint, index: 2 * INDEX };
    const forgedOffer = encodeCheckpointOffer({
      certificate: certify(2 * INDEX, forged, honest.ledger.stateRoot, [0]),
      commit: forged,
      record: { ...honest.ledger.lastCommit, index: 2 * INDEX },
    });
    await new StateSyncTransport(forger!).serve({
      checkpointOffer: () => forgedOffer,
      statePage: () => null,
    });

    // The real offer, but one balance in the state bumped.
    const snapshot = honest.ledger.snapshotAt(INDEX)!;
    await new StateSyncTransport(tamperer!).serve({
      checkpointOffer: () => honest.sync.checkpointOffer(),
      statePage(index, fromKey, maxBytes) {
        const page = snapshot.page(fromKey, maxBytes);
        const entries = page.entries.map((e, i) => {
          if (i !== 0) return e;
          const value = new Uint8Array(e.value);
          value[value.byteLength - 1]! ^= 1;
          return { key: e.key, value };
        });
        return index === INDEX ? { entries, nextKey: page.nextKey } : null;
      },
    });
    for (const h of [honestHost!, forger!, tamperer!]) await client!.dial(h.multiaddrs()[0]!);
  });

  after(async () => {
    await Promise.all(hosts.map((h) => h.stop()));
  });

  it("installs the honest checkpoint; the forger and the tamperer lose score, the honest server does not", async () => {
    const [honestHost, forger, tamperer, client] = hosts;
    const syncing = await node(client!);
    const synced = await syncing.sync.syncFromPeers([tamperer!.peerId, forger!.peerId, honestHost!.peerId]);
    assert.ok(synced !== null);
    assert.equal(synced.index, INDEX);
    assert.equal(syncing.ledger.lastAppliedIndex, INDEX);
    assert.equal(toHex(syncing.ledger.stateRoot), toHex(honest.ledger.stateRoot));
    assert.deepEqual(syncing.ledger.getAccount(ADDRESSES[1]!), honest.ledger.getAccount(ADDRESSES[1]!));
    assert.equal(
      toHex(commitDigest((await syncing.consensusStore.readLastCommit())!)),
      toHex(commitDigest(checkpoint)),
    );
    assert.equal(syncing.sync.originIndex, INDEX);
    assert.equal(syncing.sync.latestCertificateIndex, INDEX);
    assert.ok(client!.scores.score(forger!.peerId) < 0, "forged offer scored");
    assert.ok(client!.scores.score(tamperer!.peerId) < 0, "tampered state scored");
    assert.equal(client!.scores.score(honestHost!.peerId), 0);

    // The synced node serves the same checkpoint in turn, and reopens with its certificate and origin.
    assert.deepEqual(await syncing.sync.checkpointOffer(), await honest.sync.checkpointOffer());
    const reopened = await StateSync.open({
      chainId: CHAIN_ID,
      committee,
      ledger: syncing.ledger,
      store: syncing.store,
      consensusStore: syncing.consensusStore,
      host: client!,
      log,
    });
    assert.equal(reopened.originIndex, INDEX);
    assert.equal(reopened.latestCertificateIndex, INDEX);
  });

  it("gives up after its timeout when no peer offers a checkpoint, leaving the ledger at genesis", async () => {
    const lonely = hosts[4]!;
    const alone = await node(lonely, 1_000);
    assert.equal(await alone.sync.syncFromPeers([]), null);
    assert.equal(alone.ledger.lastAppliedIndex, 0);
  });
});
