import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { AccountCodec } from "./account.ts";
import {
  arbitraryAccount,
  arbitraryBlock,
  arbitraryCommit,
  arbitraryTransaction,
  arbitraryVoucher,
} from "./arbitraries.ts";
import { BlockCodec, blockDigest, decodeBlock, encodeBlock } from "./block.ts";
import {
  type Codec,
  canonicalHeaders,
  decodeWith,
  type Encodable,
  encode,
  encodesTo,
  encodeWith,
  unpackValue,
} from "./codec.ts";
import { CommitCodec } from "./commit.ts";
import { TX_BYTES_MAX } from "./constants.ts";
import { CodecError } from "./errors.ts";
import { decodeOrCodecError, type LooseValue, looseEncode, looseEncodingsRefused } from "./testing.ts";
import {
  decodeTransaction,
  decodeTransactionOnce,
  encodeTransaction,
  TransactionCodec,
  transactionDigest,
} from "./transaction.ts";
import { VoucherCodec } from "./voucher.ts";

const CASES: [Codec<never>, fc.Arbitrary<never>][] = [
  [TransactionCodec as Codec<never>, arbitraryTransaction as fc.Arbitrary<never>],
  [BlockCodec as Codec<never>, arbitraryBlock as fc.Arbitrary<never>],
  [CommitCodec as Codec<never>, arbitraryCommit as fc.Arbitrary<never>],
  [AccountCodec as Codec<never>, arbitraryAccount as fc.Arbitrary<never>],
  [VoucherCodec as Codec<never>, arbitraryVoucher as fc.Arbitrary<never>],
];

for (const [codec, arbitrary] of CASES) {
  describe(`${codec.type} codec`, () => {
    it("round-trips every value", () => {
      fc.assert(
        fc.property(arbitrary, (value) => {
          const bytes = encodeWith(codec, value);
          const decoded = decodeWith(codec, bytes);
          assert.deepEqual(encodeWith(codec, decoded), bytes);
          assert.deepEqual(codec.toValue(decoded), codec.toValue(value));
        }),
      );
    });

    it("rejects trailing bytes", () => {
      fc.assert(
        fc.property(arbitrary, fc.uint8Array({ minLength: 1, maxLength: 8 }), (value, extra) => {
          const bytes = Buffer.concat([encodeWith(codec, value), extra]);
          const result = decodeOrCodecError(codec, bytes);
          assert.ok(result instanceof CodecError);
          assert.ok(["TRAILING_BYTES", "MALFORMED"].includes(result.code), result.code);
        }),
      );
    });

    it("rejects every truncation", () => {
      fc.assert(
        fc.property(arbitrary, fc.nat(), (value, cut) => {
          const bytes = encodeWith(codec, value);
          const result = decodeOrCodecError(codec, bytes.subarray(0, cut % bytes.byteLength));
          assert.ok(result instanceof CodecError);
        }),
      );
    });

    it("either rejects a mutated encoding with a CodecError or decodes it canonically", () => {
      fc.assert(
        fc.property(arbitrary, fc.nat(), fc.integer({ min: 1, max: 255 }), (value, position, flip) => {
          const bytes = new Uint8Array(encodeWith(codec, value));
          const at = position % bytes.byteLength;
          bytes[at] = (bytes[at] ?? 0) ^ flip;
          const result = decodeOrCodecError(codec, bytes);
          if (!(result instanceof CodecError)) {
            // A flip inside a byte string or integer yields another valid value; it must re-encode exactly.
            assert.deepEqual(encodeWith(codec, result), bytes);
          }
        }),
      );
    });

    it("rejects a wrong field count and a wrong top-level type", () => {
      fc.assert(
        fc.property(arbitrary, (value) => {
          const fields = codec.toValue(value) as unknown[];
          const short = decodeOrCodecError(codec, encode(fields.slice(0, -1) as never));
          const long = decodeOrCodecError(codec, encode([...fields, 0] as never));
          assert.ok(short instanceof CodecError && short.code === "WRONG_FIELD_COUNT");
          assert.ok(long instanceof CodecError && long.code === "WRONG_FIELD_COUNT");
        }),
      );
      for (const wrong of [1, "x", null, true, new Uint8Array(3)]) {
        const result = decodeOrCodecError(codec, encode(wrong));
        assert.ok(result instanceof CodecError && result.code === "WRONG_TYPE");
      }
    });

    it("refuses every other encoding of a value (wider headers, floats for integers)", () => {
      looseEncodingsRefused(codec, arbitrary);
    });

    it("never throws anything but a CodecError on arbitrary bytes", () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
          decodeOrCodecError(codec, bytes);
        }),
      );
    });
  });
}

/** Msgpack trees of every kind the protocol uses, with integers that msgpackr writes as integers. */
const tree = (leaf: fc.Arbitrary<LooseValue>): fc.Arbitrary<LooseValue> =>
  fc.letrec<{ value: LooseValue }>((tie) => ({
    value: fc.oneof({ depthSize: "small" }, leaf, fc.array(tie("value"), { maxLength: 20 })),
  })).value;
const plainLeaf: fc.Arbitrary<LooseValue> = fc.oneof(
  fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }),
  fc.integer({ min: -300, max: 300 }),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
  fc.string({ maxLength: 40, unit: "grapheme" }),
  fc.string({ minLength: 250, maxLength: 300 }),
  fc.uint8Array({ maxLength: 300 }),
  fc.boolean(),
  fc.constant(null),
);

describe("canonical header scan", () => {
  it("agrees with encoding the unpacked value again, wherever it decides", () => {
    const leaf = fc.oneof(
      plainLeaf,
      fc.uint8Array({ maxLength: 40 }).map((rawText) => ({ rawText })),
      fc.double(),
    );
    fc.assert(
      fc.property(tree(leaf), fc.array(fc.nat(), { minLength: 1, maxLength: 64 }), (value, choices) => {
        const bytes = looseEncode(value, choices);
        const scanned = canonicalHeaders(bytes);
        const unpacked = unpackValue("Loose", bytes, Number.MAX_SAFE_INTEGER) as Encodable;
        if (scanned !== null) assert.equal(scanned, encodesTo(unpacked, bytes));
      }),
      { numRuns: 3000 },
    );
  });

  it("accepts the canonical encoding of every value without floats or maps", () => {
    fc.assert(
      fc.property(tree(plainLeaf), (value) => {
        assert.equal(canonicalHeaders(encode(value as Encodable)), true);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("field checks", () => {
  it("rejects an oversize payload, a wrong-length key and a negative or too large amount", () => {
    fc.assert(
      fc.property(arbitraryTransaction, (tx) => {
        const fields = TransactionCodec.toValue(tx) as unknown[];
        const oversize = [...fields];
        oversize[5] = new Uint8Array(16 * 1024 + 1);
        const badKey = [...fields];
        badKey[1] = new Uint8Array(31);
        const negative = [...fields];
        negative[3] = -1n;
        const numberFee = [...fields];
        numberFee[3] = 5;
        const check = (value: unknown[], code: string) => {
          const result = decodeOrCodecError(TransactionCodec, encode(value as never));
          assert.ok(result instanceof CodecError, "must be rejected");
          assert.equal(result.code, code);
        };
        check(oversize, "OVERSIZE");
        check(badKey, "WRONG_TYPE");
        check(negative, "OUT_OF_RANGE");
        check(numberFee, "WRONG_TYPE");
      }),
      { numRuns: 50 },
    );
  });

  it("names the block transaction that is not bytes or too large", () => {
    fc.assert(
      fc.property(arbitraryBlock, fc.nat(), fc.boolean(), (block, at, notBytes) => {
        const fields = BlockCodec.toValue(block) as unknown[];
        const transactions = [...(fields[5] as Uint8Array[]), new Uint8Array(1)];
        const bad = at % transactions.length;
        transactions[bad] = (notBytes ? "text" : new Uint8Array(TX_BYTES_MAX + 1)) as never;
        fields[5] = transactions;
        const result = decodeOrCodecError(BlockCodec, encode(fields as never));
        assert.ok(result instanceof CodecError);
        assert.equal(result.code, notBytes ? "WRONG_TYPE" : "OVERSIZE");
        assert.match(result.message, new RegExp(`Block\\.transactions\\[${bad}\\]: `));
      }),
      { numRuns: 100 },
    );
  });

  it("rejects a non-canonical integer encoding", () => {
    // nonce 5 written as a 64-bit uint (0xcf) instead of a fixint.
    const account = encodeWith(AccountCodec, { balance: 1n, nonce: 5, stake: 0n });
    const fixint = account.indexOf(0x05, 10);
    const bytes = Buffer.concat([
      account.subarray(0, fixint),
      Buffer.from([0xcf, 0, 0, 0, 0, 0, 0, 0, 5]),
      account.subarray(fixint + 1),
    ]);
    const result = decodeOrCodecError(AccountCodec, bytes);
    assert.ok(result instanceof CodecError);
    assert.ok(["NON_CANONICAL", "WRONG_TYPE"].includes(result.code), result.code);
  });

  it("rejects input larger than the type's bound before parsing", () => {
    const result = decodeOrCodecError(AccountCodec, new Uint8Array(AccountCodec.maxBytes + 1));
    assert.ok(result instanceof CodecError && result.code === "OVERSIZE");
  });
});

describe("transaction digest", () => {
  it("is the same taken from the canonical bytes at decode as from the body encoded afresh", () => {
    fc.assert(
      fc.property(arbitraryTransaction, (tx) => {
        const decoded = decodeTransaction(encodeTransaction(tx));
        // A copy is a new object, so its digest is computed by encoding its body.
        assert.deepEqual(transactionDigest(decoded), transactionDigest({ ...tx }));
      }),
      { numRuns: 300 },
    );
  });

  it("decoding the same array again gives the same object; another array is decoded afresh", () => {
    fc.assert(
      fc.property(arbitraryTransaction, fc.nat(), fc.nat({ max: 7 }), (tx, at, bit) => {
        const bytes = encodeTransaction(tx);
        const decoded = decodeTransaction(bytes);
        assert.equal(decodeTransaction(bytes), decoded);
        const copy = bytes.slice();
        assert.notEqual(decodeTransaction(copy), decoded);
        assert.deepEqual(decodeTransaction(copy), decoded);
        // Changed bytes in a new array are checked and decoded on their own, never answered from the original.
        const changedBytes = copy.slice();
        changedBytes[at % changedBytes.byteLength]! ^= 1 << bit;
        let changed: unknown;
        try {
          changed = decodeTransaction(changedBytes);
        } catch (error) {
          assert.ok(error instanceof CodecError);
          return;
        }
        assert.notDeepEqual(changed, decoded);
      }),
      { numRuns: 300 },
    );
  });

  it("decoding once gives the remembered object for an array decoded before, else an equal one that is not remembered", () => {
    fc.assert(
      fc.property(arbitraryTransaction, fc.nat(), fc.nat({ max: 7 }), (tx, at, bit) => {
        const bytes = encodeTransaction(tx);
        const once = decodeTransactionOnce(bytes);
        assert.deepEqual(TransactionCodec.toValue(once.tx), TransactionCodec.toValue(tx));
        assert.deepEqual(once.digest, transactionDigest({ ...tx }));
        // Not remembered: decoding the array again builds a new object.
        const remembered = decodeTransaction(bytes);
        assert.notEqual(remembered, once.tx);
        assert.deepEqual(remembered, once.tx);
        // Now remembered: decoding once answers with that object and its digest.
        const again = decodeTransactionOnce(bytes);
        assert.equal(again.tx, remembered);
        assert.deepEqual(again.digest, once.digest);
        const changedBytes = bytes.slice();
        changedBytes[at % changedBytes.byteLength]! ^= 1 << bit;
        let changed: ReturnType<typeof decodeTransactionOnce>;
        try {
          changed = decodeTransactionOnce(changedBytes);
        } catch (error) {
          assert.ok(error instanceof CodecError);
          return;
        }
        assert.notDeepEqual(changed.tx, once.tx);
        assert.deepEqual(changed.digest, transactionDigest({ ...changed.tx }));
      }),
      { numRuns: 300 },
    );
  });
});

describe("block digest and encoding", () => {
  it("are the same taken from the wire bytes at decode as computed afresh", () => {
    fc.assert(
      fc.property(arbitraryBlock, (block) => {
        const bytes = encodeWith(BlockCodec, block);
        const decoded = decodeBlock(bytes);
        // A copy is a new object: its digest and encoding are computed from its fields.
        assert.deepEqual(blockDigest(decoded), blockDigest({ ...block }));
        assert.deepEqual(encodeBlock(decoded), bytes);
      }),
      { numRuns: 300 },
    );
  });

  it("do not change when the decoded bytes are written over", () => {
    fc.assert(
      fc.property(arbitraryBlock, (block) => {
        const bytes = encodeWith(BlockCodec, block);
        const decoded = decodeBlock(bytes);
        bytes.fill(0);
        assert.deepEqual(encodeBlock(decoded), encodeWith(BlockCodec, block));
      }),
      { numRuns: 100 },
    );
  });
});
