import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { CodecError, sha256 } from "../spec/index.ts";
import { runSeed } from "../spec/testing.ts";
import { decodeStateProof, encodeStateProof, proveKey, type StateProof, verifyProof } from "./proof.ts";
import {
  EMPTY_ROOT,
  internalHash,
  keyBit,
  leafHash,
  SparseMerkleTree,
  stateKeyHash,
  stateValueHash,
} from "./smt.ts";

const seed = runSeed("smt.test");

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** The root by definition, with no shared code: split leaves on each bit, a lone leaf is itself. */
function referenceRoot(leaves: Map<string, Uint8Array>, depth = 0): Uint8Array {
  if (leaves.size === 0) return EMPTY_ROOT;
  if (leaves.size === 1) {
    const [key, value] = [...leaves][0]!;
    return leafHash(Buffer.from(key, "hex"), value);
  }
  const left = new Map<string, Uint8Array>();
  const right = new Map<string, Uint8Array>();
  for (const [key, value] of leaves)
    (keyBit(Buffer.from(key, "hex"), depth) === 0 ? left : right).set(key, value);
  return internalHash(referenceRoot(left, depth + 1), referenceRoot(right, depth + 1));
}

/**
 * Key hashes that share long prefixes: a random byte count of zeros, then
 * one of a few bytes, so splits go deep and deletes collapse long chains.
 */
const arbitraryKeyHash = fc
  .tuple(
    fc.integer({ min: 0, max: 31 }),
    fc.constantFrom(0x00, 0x01, 0x80, 0xff),
    fc.uint8Array({ minLength: 32, maxLength: 32 }),
  )
  .map(([zeros, mark, tail]) => {
    const out = new Uint8Array(tail);
    out.fill(0, 0, zeros);
    out[zeros] = mark;
    return out;
  });
const arbitraryValueHash = fc.uint8Array({ minLength: 32, maxLength: 32 });
const arbitraryUpdate = fc.record({
  keyHash: arbitraryKeyHash,
  valueHash: fc.option(arbitraryValueHash, { nil: null }),
  rootNow: fc.boolean(),
});

describe("sparse Merkle tree", () => {
  it("has the empty root when empty, and a lone leaf is the root", () => {
    const tree = new SparseMerkleTree();
    assert.equal(hex(tree.root()), hex(EMPTY_ROOT));
    const k = sha256(Uint8Array.of(1));
    const v = sha256(Uint8Array.of(2));
    tree.update(k, v);
    assert.equal(hex(tree.root()), hex(leafHash(k, v)));
    tree.update(k, null);
    assert.equal(hex(tree.root()), hex(EMPTY_ROOT));
    assert.equal(tree.size, 0);
  });

  it("matches the definitional root after any sequence of sets and deletes, and a rebuild from leaves", () => {
    fc.assert(
      fc.property(
        fc.array(arbitraryUpdate, { maxLength: 60 }),
        fc.array(arbitraryUpdate, { maxLength: 30 }),
        (first, second) => {
          const tree = new SparseMerkleTree();
          const model = new Map<string, Uint8Array>();
          // Reuse earlier keys in the second phase so deletes and overwrites hit present leaves.
          const reused = second.map((u, i) =>
            first.length > 0 ? { ...u, keyHash: first[i % first.length]!.keyHash } : u,
          );
          for (const u of [...first, ...reused]) {
            tree.update(u.keyHash, u.valueHash);
            if (u.valueHash === null) model.delete(hex(u.keyHash));
            else model.set(hex(u.keyHash), u.valueHash);
            if (u.rootNow) tree.root();
          }
          assert.equal(tree.size, model.size);
          const expected = hex(referenceRoot(model));
          assert.equal(hex(tree.root()), expected);
          const rebuilt = SparseMerkleTree.fromLeaves(
            [...model].map(([k, v]) => ({ keyHash: Buffer.from(k, "hex"), valueHash: v })),
          );
          assert.equal(hex(rebuilt.root()), expected);
          for (const [k, v] of model) assert.equal(hex(tree.get(Buffer.from(k, "hex"))!), hex(v));
        },
      ),
      { seed, numRuns: 300 },
    );
  });

  it("does not depend on the order of updates", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(arbitraryKeyHash, arbitraryValueHash), {
          selector: ([k]) => hex(k),
          maxLength: 40,
        }),
        fc.integer(),
        (entries, shuffleSeed) => {
          const a = new SparseMerkleTree();
          for (const [k, v] of entries) a.update(k, v);
          const shuffled = [...entries].sort(
            ([x], [y]) =>
              ((x[31]! ^ shuffleSeed) & 0xff) - ((y[31]! ^ shuffleSeed) & 0xff) || Buffer.compare(y, x),
          );
          const b = new SparseMerkleTree();
          for (const [k, v] of shuffled) b.update(k, v);
          assert.equal(hex(a.root()), hex(b.root()));
        },
      ),
      { seed },
    );
  });

  it("keeps paths short: 4,096 hashed keys give paths near log2(n), far below 256", () => {
    const tree = new SparseMerkleTree();
    const keys: Uint8Array[] = [];
    for (let i = 0; i < 4096; i++) {
      const key = stateKeyHash(Uint8Array.of(i >> 8, i & 0xff));
      keys.push(key);
      tree.update(key, sha256(key));
    }
    const depths = keys.map((k) => tree.path(k).siblings.length);
    const longest = Math.max(...depths);
    const mean = depths.reduce((a, b) => a + b, 0) / depths.length;
    assert.ok(longest <= 40, `longest path ${longest}`);
    assert.ok(mean < 16, `mean path ${mean}`);
  });
});

/** A tree over store keys k0..k{n-1} holding value "v<i>" for the keys `present` marks. */
function treeOf(present: readonly boolean[]): { tree: SparseMerkleTree; values: Map<string, Uint8Array> } {
  const tree = new SparseMerkleTree();
  const values = new Map<string, Uint8Array>();
  present.forEach((isPresent, i) => {
    if (!isPresent) return;
    const key = Buffer.from(`k${i}`);
    const value = Buffer.from(`v${i}`);
    values.set(key.toString(), value);
    tree.update(stateKeyHash(key), stateValueHash(value));
  });
  return { tree, values };
}

const arbitraryProofCase = fc.record({
  present: fc.array(fc.boolean(), { minLength: 1, maxLength: 64 }),
  probe: fc.nat(),
});

function proofFor(present: readonly boolean[], probe: number): { root: Uint8Array; proof: StateProof } {
  const { tree, values } = treeOf(present);
  const key = Buffer.from(`k${probe % (present.length + 4)}`);
  return { root: tree.root(), proof: proveKey(tree, key, values.get(key.toString()) ?? null) };
}

describe("state proofs", () => {
  it("prove inclusion of present keys and non-inclusion of absent ones", () => {
    fc.assert(
      fc.property(arbitraryProofCase, ({ present, probe }) => {
        const { root, proof } = proofFor(present, probe);
        const index = probe % (present.length + 4);
        assert.equal(proof.value !== null, present[index] === true);
        assert.ok(verifyProof(root, proof));
        assert.ok(verifyProof(root, decodeStateProof(encodeStateProof(proof))));
      }),
      { seed, numRuns: 300 },
    );
  });

  it("reject every tampering: value, key, a sibling bit, path length, other leaf, root", () => {
    const flip = (b: Uint8Array, bit: number) => {
      const out = new Uint8Array(b);
      out[(bit >> 3) % out.length]! ^= 1 << (bit & 7);
      return out;
    };
    fc.assert(
      fc.property(arbitraryProofCase, fc.nat(), fc.nat(), (c, which, bit) => {
        const { root, proof } = proofFor(c.present, c.probe);
        const tampered: StateProof[] = [
          { ...proof, value: proof.value === null ? Buffer.from("v0") : flip(proof.value, bit) },
          { ...proof, siblings: [...proof.siblings, new Uint8Array(32)] },
        ];
        // A non-inclusion proof stays true for other absent keys on its path, so only an inclusion proof's key is tampered.
        if (proof.value !== null)
          tampered.push({ ...proof, value: null }, { ...proof, key: flip(proof.key, bit) });
        if (proof.siblings.length > 0) {
          const at = which % proof.siblings.length;
          tampered.push({ ...proof, siblings: proof.siblings.map((s, i) => (i === at ? flip(s, bit) : s)) });
          tampered.push({ ...proof, siblings: proof.siblings.slice(0, -1) });
        }
        if (proof.otherLeaf !== null) {
          tampered.push({
            ...proof,
            otherLeaf: { ...proof.otherLeaf, valueHash: flip(proof.otherLeaf.valueHash, bit) },
          });
          tampered.push({ ...proof, otherLeaf: null });
        }
        for (const t of tampered) assert.equal(verifyProof(root, t), false, JSON.stringify(t));
        assert.equal(verifyProof(flip(root, bit), proof), false);
      }),
      { seed, numRuns: 300 },
    );
  });

  it("codec round-trips and rejects mutated bytes with a CodecError or re-encodes them exactly", () => {
    fc.assert(
      fc.property(arbitraryProofCase, fc.nat(), fc.integer({ min: 1, max: 255 }), (c, position, xor) => {
        const { proof } = proofFor(c.present, c.probe);
        const bytes = encodeStateProof(proof);
        assert.equal(hex(encodeStateProof(decodeStateProof(bytes))), hex(bytes));
        assert.equal(decodeStateProof(bytes).siblings.length, proof.siblings.length);
        const mutated = new Uint8Array(bytes);
        mutated[position % mutated.length]! ^= xor;
        try {
          assert.equal(hex(encodeStateProof(decodeStateProof(mutated))), hex(mutated));
        } catch (error) {
          assert.ok(error instanceof CodecError, String(error));
        }
        for (let cut = 0; cut < bytes.length; cut += Math.max(1, bytes.length >> 3)) {
          assert.throws(() => decodeStateProof(bytes.subarray(0, cut)), CodecError);
        }
      }),
      { seed, numRuns: 200 },
    );
  });
});
