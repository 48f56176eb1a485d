/**
 * fast-check arbitraries for the market's types, shared by its property
 * tests. Not exported from index.ts.
 */
import fc from "fast-check";
import { AMOUNT_MAX, generateKeyPair } from "../spec/index.ts";
import {
  CAPABILITY_BYTES_MAX,
  INVITE_NONCE_BYTES,
  POD_CAPABILITIES_MAX,
  POD_INVITE_PEERS_MAX,
  PROVIDER_MODELS_MAX,
  VRAM_MIB_MAX,
} from "./constants.ts";
import type { InviteCode } from "./invite.ts";
import { DEVICE_KINDS, type ModelRef, POD_ROLES } from "./model-ref.ts";
import { peerIdFromPublicKey } from "./peer-id.ts";

export const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
export const amount = fc.bigInt({ min: 0n, max: AMOUNT_MAX });
export const index = fc.nat({ max: Number.MAX_SAFE_INTEGER });
export const peerId = bytes(32).map((key) => peerIdFromPublicKey(key));
/** Real keys are slow to make; a small pool of peer ids from real keys is enough for membership tests. */
export const realPeerIds = Array.from({ length: 4 }, () => peerIdFromPublicKey(generateKeyPair().publicKey));

const nameChar = fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789-._".split(""));
export const modelName = fc
  .tuple(fc.constantFrom(..."abcxyz019".split("")), fc.array(nameChar, { maxLength: 20 }))
  .map(([first, rest]) => first + rest.join(""));

export const modelRef: fc.Arbitrary<ModelRef> = fc.record({ hash: bytes(32), name: modelName });
export const modelRefs = fc.uniqueArray(modelRef, {
  maxLength: PROVIDER_MODELS_MAX,
  selector: (m) => Buffer.from(m.hash).toString("hex"),
});

export const capability = fc
  .tuple(
    fc.constantFrom(..."abcdefghij".split("")),
    fc.array(fc.constantFrom(..."abc0123-".split("")), { maxLength: CAPABILITY_BYTES_MAX - 1 }),
  )
  .map(([first, rest]) => first + rest.join(""));
export const capabilities = fc.uniqueArray(capability, { maxLength: POD_CAPABILITIES_MAX });

export const device = fc.constantFrom(...DEVICE_KINDS);
export const role = fc.constantFrom(...POD_ROLES);
export const vramMib = fc.nat({ max: VRAM_MIB_MAX });
export const peerIds = fc.array(peerId, { maxLength: POD_INVITE_PEERS_MAX });

export const inviteCode: fc.Arbitrary<InviteCode> = fc.record({
  chainId: fc.string({ maxLength: 64, unit: "grapheme-ascii" }),
  podId: bytes(32),
  role,
  expiresAtMs: index,
  multiUse: fc.boolean(),
  nonce: bytes(INVITE_NONCE_BYTES),
  issuerPublicKey: bytes(32),
  signature: bytes(64),
});
