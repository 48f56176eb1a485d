import { CHANNEL_MESSAGE_BYTES_MAX, channelRecordToJson } from "../../channels/index.ts";
import { encodeStateProof, parseTxHash, validatorAddress } from "../../ledger/index.ts";
import {
  AddressError,
  encodeVoucher,
  formatAddress,
  fromHex,
  parseAddress,
  toHex,
} from "../../spec/index.ts";
import type { HyperspaceNode } from "../node.ts";
import { receiptJson } from "../node.ts";
import { RpcError, RpcErrorCode, type RpcMethod } from "./server.ts";

/**
 * The node's JSON-RPC methods. Names and result fields are part of the
 * public interface; amounts are decimal strings and bytes are hex.
 */
export function rpcMethods(node: HyperspaceNode): Record<string, RpcMethod> {
  return {
    hs_status: {
      handler: () => ({
        chainId: node.genesis.chainId,
        minFee: node.ledger.params.minFee.toString(),
        commitIndex: node.ledger.lastAppliedIndex,
        stateRoot: toHex(node.ledger.stateRoot),
        round: node.round,
        peers: node.host.peers().length,
        syncing: node.isSyncing,
        validator: node.isValidator,
        certifiedIndex: node.latestCertified?.index ?? 0,
        mempool: node.mempool.size,
        equivocations: node.equivocations,
        peerId: node.host.peerId,
        snapshotIndex: node.stateSync?.originIndex ?? 0,
        checkpointIndex: node.stateSync?.latestCertificateIndex ?? 0,
      }),
    },

    hs_getSupply: {
      handler: () => {
        const totals = node.ledger.totals();
        return {
          balances: totals.balances.toString(),
          stakes: totals.stakes.toString(),
          escrows: totals.escrows.toString(),
          burned: totals.burned.toString(),
          supply: totals.supply.toString(),
        };
      },
    },

    hs_getChannel: {
      handler: ([id]) => {
        const channelId = channelIdParam(id);
        const record = node.channels.getChannel(channelId);
        return record === null ? null : channelRecordToJson(channelId, record);
      },
    },

    hs_listChannels: {
      handler: ([text]) =>
        node.channels
          .channelsOf(parseAddressParam(text))
          .map(({ channelId, record }) => channelRecordToJson(channelId, record)),
    },

    hs_resolvePeer: {
      handler: ([peerId]) => {
        if (typeof peerId !== "string") throw new RpcError(RpcErrorCode.InvalidParams, "expected a peer id");
        if (peerId === node.host.peerId) return { address: formatAddress(node.channels.address) };
        const validator = node.ledger.getValidators().find((v) => v.peerId === peerId);
        return validator === undefined ? null : { address: formatAddress(validatorAddress(validator)) };
      },
    },

    hs_getWallet: {
      handler: () => ({
        address: formatAddress(node.channels.address),
        peerId: node.host.peerId,
        addresses: node.host.multiaddrs(),
      }),
    },

    hs_sendChannelMessage: {
      auth: true,
      handler: ([peer, hex]) => {
        const bytes = typeof hex === "string" ? fromHex(hex) : null;
        if (typeof peer !== "string" || bytes === null || bytes.byteLength > CHANNEL_MESSAGE_BYTES_MAX) {
          throw new RpcError(RpcErrorCode.InvalidParams, "expected a peer id and a channel message in hex");
        }
        node.channels.send(peer, bytes);
        return { sent: true };
      },
    },

    hs_getChannelVoucher: {
      auth: true,
      handler: async ([id]) => {
        const voucher = await node.channels.bestVoucher(channelIdParam(id));
        return { voucher: voucher === null ? null : toHex(encodeVoucher(voucher)) };
      },
    },

    hs_peers: {
      handler: () => node.host.peerTable(),
    },

    hs_admin_denyPeers: {
      auth: true,
      handler: async (params) => {
        const peers = peerIdsParam(params);
        for (const peer of peers) await node.host.denyPeer(peer);
        return { denied: peers };
      },
    },

    hs_admin_allowPeers: {
      auth: true,
      handler: async (params) => {
        const peers = peerIdsParam(params);
        for (const peer of peers) await node.host.allowPeer(peer);
        return { allowed: peers };
      },
    },

    hs_submitTransaction: {
      handler: async ([hex]) => {
        const bytes = typeof hex === "string" ? fromHex(hex) : null;
        if (bytes === null) throw new RpcError(RpcErrorCode.InvalidParams, "expected the transaction as hex");
        return { hash: await node.submitTransaction(bytes) };
      },
    },

    hs_getAccount: {
      handler: ([text, options]) => {
        const address = parseAddressParam(text);
        const account = node.ledger.getAccount(address);
        const wantProof =
          typeof options === "object" && options !== null && (options as { proof?: unknown }).proof === true;
        return {
          balance: account.balance.toString(),
          nonce: account.nonce,
          stake: account.stake.toString(),
          ...(wantProof
            ? {
                proof: toHex(encodeStateProof(node.ledger.prove(address))),
                stateRoot: toHex(node.ledger.stateRoot),
              }
            : {}),
        };
      },
    },

    hs_getReceipt: {
      handler: async ([text]) => {
        const hash = typeof text === "string" ? parseTxHash(text) : null;
        if (hash === null)
          throw new RpcError(RpcErrorCode.InvalidParams, "expected a 32-byte transaction hash in hex");
        const receipt = await node.ledger.getReceipt(hash);
        return receipt === null ? null : receiptJson(receipt);
      },
    },

    hs_getCommit: {
      handler: async ([index]) => {
        if (typeof index !== "number" || !Number.isSafeInteger(index) || index < 0) {
          throw new RpcError(RpcErrorCode.InvalidParams, "expected a commit index");
        }
        return node.commitSummary(index);
      },
    },

    hs_getValidators: {
      handler: () =>
        node.ledger.getValidators().map((v) => ({
          address: formatAddress(validatorAddress(v)),
          peerId: v.peerId,
          stake: v.stake.toString(),
          name: v.name,
          publicKey: toHex(v.publicKey),
        })),
    },
  };
}

function parseAddressParam(text: unknown): Uint8Array {
  if (typeof text !== "string")
    throw new RpcError(RpcErrorCode.InvalidParams, "expected an address (hs1...)");
  try {
    return parseAddress(text);
  } catch (error) {
    if (error instanceof AddressError) throw new RpcError(RpcErrorCode.InvalidParams, error.message);
    throw error;
  }
}

function peerIdsParam(params: unknown[]): string[] {
  const [peers] = params;
  if (
    !Array.isArray(peers) ||
    peers.length > 1_000 ||
    !peers.every((p) => typeof p === "string" && /^[1-9A-HJ-NP-Za-km-z]{20,100}$/.test(p))
  ) {
    throw new RpcError(RpcErrorCode.InvalidParams, "expected an array of libp2p peer ids");
  }
  return peers as string[];
}

function channelIdParam(id: unknown): Uint8Array {
  const bytes = typeof id === "string" ? fromHex(id) : null;
  if (bytes === null || bytes.byteLength !== 32)
    throw new RpcError(RpcErrorCode.InvalidParams, "expected a 32-byte channel id in hex");
  return bytes;
}
