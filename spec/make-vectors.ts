/**
 * Writes the spec conformance vectors to spec/vectors/. Run once when the
 * wire format changes on purpose: `node --import tsx spec/make-vectors.ts`.
 * The files are committed; the conformance run checks the code against them.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { addressFromPublicKey, formatAddress } from "./address.ts";
import { toHex } from "./bytes.ts";
import { encode } from "./codec.ts";
import { generateKeyPair } from "./keys.ts";
import { makeEncodingVector } from "./vectors.ts";

const dir = join(import.meta.dirname, "vectors");
const secretKey = new Uint8Array(32).map((_, i) => i + 1);
const publicKey = toHex(generateKeyPair(secretKey).publicKey);
const digest = (fill: number) => toHex(new Uint8Array(32).fill(fill));

const write = (file: string, vectors: unknown[]) =>
  writeFileSync(join(dir, file), `${JSON.stringify(vectors, null, 2)}\n`);

write("transaction.json", [
  makeEncodingVector(
    "transaction-transfer",
    "transaction",
    {
      chainId: "hyperspace-devnet",
      sender: publicKey,
      nonce: 7,
      fee: "1000",
      kind: "transfer",
      payload: toHex(encode([new Uint8Array(20).fill(0xab), 123456789n])),
    },
    secretKey,
  ),
  makeEncodingVector(
    "transaction-max-amounts",
    "transaction",
    {
      chainId: "x",
      sender: publicKey,
      nonce: Number.MAX_SAFE_INTEGER,
      fee: "18446744073709551615",
      kind: "stake",
      payload: "",
    },
    secretKey,
  ),
]);

write("block.json", [
  makeEncodingVector(
    "block-round-1",
    "block",
    {
      epoch: 0,
      round: 1,
      author: 2,
      timestampMs: 1767225600000,
      ancestors: [
        { round: 0, author: 2, digest: digest(2) },
        { round: 0, author: 0, digest: digest(0) },
        { round: 0, author: 1, digest: digest(1) },
      ],
      transactions: ["c0", "93010203"],
    },
    secretKey,
  ),
]);

write("commit.json", [
  makeEncodingVector(
    "commit-first",
    "commit",
    {
      index: 1,
      previousDigest: digest(0),
      leader: { round: 3, author: 3, digest: digest(9) },
      blocks: [
        { round: 1, author: 0, digest: digest(4) },
        { round: 3, author: 3, digest: digest(9) },
      ],
      timestampMs: 1767225600123,
    },
    secretKey,
  ),
]);

write("voucher.json", [
  makeEncodingVector(
    "voucher-cumulative",
    "voucher",
    { chainId: "hyperspace-devnet", channelId: digest(7), cumulativeAmount: "250000", sequence: 42 },
    secretKey,
  ),
]);

write("account.json", [
  makeEncodingVector(
    "account-staked",
    "account",
    { balance: "5000000", nonce: 3, stake: "1000000" },
    secretKey,
  ),
]);

write("address.json", [
  {
    kind: "address",
    name: "address-from-fixed-key",
    secretKey: toHex(secretKey),
    publicKey,
    address: formatAddress(addressFromPublicKey(generateKeyPair(secretKey).publicKey)),
  },
]);

const account = encode([5n, 3, 1n]);
write("decode-reject.json", [
  {
    kind: "decode-reject",
    name: "trailing-bytes",
    type: "account",
    bytes: `${toHex(account)}00`,
    error: "TRAILING_BYTES",
  },
  {
    kind: "decode-reject",
    name: "wrong-field-count",
    type: "account",
    bytes: toHex(encode([5n, 3])),
    error: "WRONG_FIELD_COUNT",
  },
  { kind: "decode-reject", name: "wrong-type-map", type: "account", bytes: "80", error: "WRONG_TYPE" },
  {
    kind: "decode-reject",
    name: "wrong-type-amount-as-string",
    type: "account",
    bytes: toHex(encode(["5", 3, 1n])),
    error: "WRONG_TYPE",
  },
  {
    kind: "decode-reject",
    name: "negative-amount",
    type: "account",
    bytes: toHex(encode([-5n, 3, 1n])),
    error: "OUT_OF_RANGE",
  },
  {
    kind: "decode-reject",
    name: "oversize-payload",
    type: "transaction",
    bytes: toHex(
      encode(["c", new Uint8Array(32), 0, 0n, "transfer", new Uint8Array(16 * 1024 + 1), new Uint8Array(64)]),
    ),
    error: "OVERSIZE",
  },
  {
    kind: "decode-reject",
    name: "short-signature",
    type: "voucher",
    bytes: toHex(encode(["c", new Uint8Array(32), 1n, 1, new Uint8Array(63)])),
    error: "WRONG_TYPE",
  },
  {
    kind: "decode-reject",
    name: "non-canonical-nonce",
    type: "account",
    bytes: "93d30000000000000005cd0003d30000000000000001",
    error: "NON_CANONICAL",
  },
  {
    kind: "decode-reject",
    name: "truncated",
    type: "account",
    bytes: toHex(account.subarray(0, 5)),
    error: "MALFORMED",
  },
]);
console.log(`wrote vectors to ${dir}`);
