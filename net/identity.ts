import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";

/**
 * The node's libp2p identity: an Ed25519 key, separate from its validator
 * key, persisted (protobuf bytes, file mode 0600) so the peer id survives a
 * restart and stays the one published in genesis.
 */
export async function loadOrCreatePeerKey(path: string): Promise<PrivateKey> {
  if (existsSync(path)) return privateKeyFromProtobuf(new Uint8Array(readFileSync(path)));
  const key = await generateKeyPair("Ed25519");
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, privateKeyToProtobuf(key), { mode: 0o600 });
  chmodSync(path, 0o600);
  return key;
}

export function peerIdOf(key: PrivateKey): string {
  return peerIdFromPrivateKey(key).toString();
}
