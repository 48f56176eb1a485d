import {
  bytesEqual,
  type Codec,
  CodecError,
  DIGEST_BYTES,
  decodeWith,
  type Encodable,
  encodeWith,
  FieldReader,
} from "../spec/index.ts";
import {
  internalHash,
  keyBit,
  leafHash,
  type SparseMerkleTree,
  stateKeyHash,
  stateValueHash,
  TREE_DEPTH_MAX,
} from "./smt.ts";

/**
 * A proof that a store key holds a value in the state (inclusion), or holds
 * nothing (non-inclusion), under a state root.
 *
 * - Inclusion: `value` is the key's value; the path ends at its leaf.
 * - Non-inclusion: `value` is null; the path ends at an empty subtree
 *   (`otherLeaf` null) or at the one leaf of another key that shares the
 *   path's prefix (`otherLeaf`), which would have to be split had the key
 *   been present.
 */
export interface StateProof {
  readonly key: Uint8Array;
  readonly value: Uint8Array | null;
  /** Sibling hashes from the top of the tree down (siblings[d] is beside the path at depth d + 1). */
  readonly siblings: readonly Uint8Array[];
  readonly otherLeaf: { readonly keyHash: Uint8Array; readonly valueHash: Uint8Array } | null;
}

/** State keys are a bucket byte and the bucket's key: addresses, hashes, short module keys. */
export const STATE_KEY_BYTES_MAX = 128;
/** A module's state value: 64 KiB fits a training job description with margin. */
export const STATE_VALUE_BYTES_MAX = 64 * 1024;

export function proveKey(tree: SparseMerkleTree, key: Uint8Array, value: Uint8Array | null): StateProof {
  const keyHash = stateKeyHash(key);
  const path = tree.path(keyHash);
  const own = path.leaf !== null && bytesEqual(path.leaf.keyHash, keyHash);
  return {
    key,
    value: own ? value : null,
    siblings: path.siblings,
    otherLeaf: own ? null : path.leaf,
  };
}

/**
 * Checks a proof against a state root. Returns false, never throws, for any
 * proof that does not show what it claims (tampered value, key, sibling or
 * path; a wrong root; malformed sizes).
 */
export function verifyProof(root: Uint8Array, proof: StateProof): boolean {
  if (root.byteLength !== DIGEST_BYTES || proof.siblings.length > TREE_DEPTH_MAX) return false;
  if (proof.siblings.some((s) => s.byteLength !== DIGEST_BYTES)) return false;
  const keyHash = stateKeyHash(proof.key);
  let node: Uint8Array;
  if (proof.value !== null) {
    if (proof.otherLeaf !== null) return false;
    node = leafHash(keyHash, stateValueHash(proof.value));
  } else if (proof.otherLeaf !== null) {
    const other = proof.otherLeaf;
    if (other.keyHash.byteLength !== DIGEST_BYTES || other.valueHash.byteLength !== DIGEST_BYTES)
      return false;
    if (bytesEqual(other.keyHash, keyHash)) return false;
    for (let depth = 0; depth < proof.siblings.length; depth++) {
      if (keyBit(other.keyHash, depth) !== keyBit(keyHash, depth)) return false;
    }
    node = leafHash(other.keyHash, other.valueHash);
  } else {
    node = new Uint8Array(DIGEST_BYTES);
  }
  for (let depth = proof.siblings.length - 1; depth >= 0; depth--) {
    const sibling = proof.siblings[depth]!;
    node = keyBit(keyHash, depth) === 0 ? internalHash(node, sibling) : internalHash(sibling, node);
  }
  return bytesEqual(node, root);
}

function nullable<T>(value: unknown, type: string, parse: (value: unknown, type: string) => T): T | null {
  return value === null ? null : parse(value, type);
}

function readBytes(value: unknown, type: string, max: number, exact?: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new CodecError("WRONG_TYPE", `${type}: expected bytes`, { type });
  if (exact !== undefined && value.byteLength !== exact)
    throw new CodecError("WRONG_TYPE", `${type}: expected ${exact} bytes`, { type });
  if (value.byteLength > max)
    throw new CodecError("OVERSIZE", `${type}: ${value.byteLength} bytes > ${max}`, { type });
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

export const StateProofCodec: Codec<StateProof> = {
  type: "StateProof",
  maxBytes: 64 + STATE_KEY_BYTES_MAX + STATE_VALUE_BYTES_MAX + (TREE_DEPTH_MAX + 2) * (DIGEST_BYTES + 2),
  toValue: (proof): Encodable => [
    proof.key,
    proof.value,
    [...proof.siblings],
    proof.otherLeaf === null ? null : [proof.otherLeaf.keyHash, proof.otherLeaf.valueHash],
  ],
  fromValue(value, type = "StateProof") {
    const reader = FieldReader.of(type, value, 4);
    const key = reader.bytes("key", { max: STATE_KEY_BYTES_MAX });
    const proofValue = reader.nested("value", (v, t) =>
      nullable(v, t, (b, t2) => readBytes(b, t2, STATE_VALUE_BYTES_MAX)),
    );
    const siblings = reader
      .array("siblings", TREE_DEPTH_MAX)
      .map((s, i) => readBytes(s, `${type}.siblings[${i}]`, DIGEST_BYTES, DIGEST_BYTES));
    const otherLeaf = reader.nested("otherLeaf", (v, t) =>
      nullable(v, t, (pair, t2) => {
        const leaf = FieldReader.of(t2, pair, 2);
        return {
          keyHash: leaf.bytes("keyHash", { exact: DIGEST_BYTES }),
          valueHash: leaf.bytes("valueHash", { exact: DIGEST_BYTES }),
        };
      }),
    );
    return { key, value: proofValue, siblings, otherLeaf };
  },
};

export const encodeStateProof = (proof: StateProof): Uint8Array => encodeWith(StateProofCodec, proof);
export const decodeStateProof = (bytes: Uint8Array): StateProof => decodeWith(StateProofCodec, bytes);
