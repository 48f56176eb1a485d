import { assert, bytesEqual, DIGEST_BYTES, Domain, hash, sha256 } from "../spec/index.ts";

/**
 * The state tree: a binary sparse Merkle tree over 256-bit key hashes,
 * compressed as Jellyfish (Diem's JMT) does:
 * - an empty subtree is the placeholder hash (32 zero bytes) and is not stored;
 * - a subtree holding exactly one leaf is that leaf, placed at the shallowest
 *   depth where it is alone, so a path is as long as the longest common key
 *   prefix among its neighbours (about log2(n) for n hashed keys), never 256.
 *
 *   leaf     = H(StateLeaf, keyHash || valueHash)
 *   internal = H(StateNode, left || right)        (either side may be the placeholder)
 *   keyHash  = sha256(store key), valueHash = sha256(value)
 *
 * An internal node always has at least two leaves below it. Updates only
 * mark the nodes on their paths dirty; `root()` rehashes the dirty nodes once,
 * so a commit that touches k keys costs O(k log n) hashes, each shared upper
 * node hashed once.
 *
 * Nodes live in memory only. The tree is rebuilt from the state entries at
 * open (the ledger loads all state anyway), so disk holds no second copy of
 * state that a crash could leave out of step; the persisted root of the last
 * commit is checked against the rebuilt one.
 */

export const EMPTY_ROOT: Uint8Array = new Uint8Array(DIGEST_BYTES);
/** Key hashes are sha256 digests: 256 bits, so no path is deeper than 256. */
export const TREE_DEPTH_MAX = 256;

export interface LeafNode {
  readonly kind: "leaf";
  readonly keyHash: Uint8Array;
  readonly valueHash: Uint8Array;
  readonly hash: Uint8Array;
}

interface InternalNode {
  readonly kind: "internal";
  left: TreeNode | null;
  right: TreeNode | null;
  /** null when dirty: recomputed by `root()`. */
  hash: Uint8Array | null;
}

type TreeNode = LeafNode | InternalNode;

/** The bits of a path in the tree, from the root down, for one key. */
export interface TreePath {
  /** Sibling hashes from the root's child level down: siblings[d] sits beside the path at depth d + 1. */
  readonly siblings: readonly Uint8Array[];
  /** The leaf where the path ends (the key's own leaf or another), or null for an empty subtree. */
  readonly leaf: { readonly keyHash: Uint8Array; readonly valueHash: Uint8Array } | null;
}

export const stateKeyHash = (key: Uint8Array): Uint8Array => sha256(key);
export const stateValueHash = (value: Uint8Array): Uint8Array => sha256(value);
export const leafHash = (keyHash: Uint8Array, valueHash: Uint8Array): Uint8Array =>
  hash(Domain.StateLeaf, keyHash, valueHash);
export const internalHash = (left: Uint8Array, right: Uint8Array): Uint8Array =>
  hash(Domain.StateNode, left, right);

/** Bit `depth` of a key hash, most significant bit first: 0 goes left, 1 goes right. */
export function keyBit(keyHash: Uint8Array, depth: number): number {
  return ((keyHash[depth >> 3] ?? 0) >> (7 - (depth & 7))) & 1;
}

function makeLeaf(keyHash: Uint8Array, valueHash: Uint8Array): LeafNode {
  assert(
    keyHash.byteLength === DIGEST_BYTES && valueHash.byteLength === DIGEST_BYTES,
    "leaf hashes are 32 bytes",
  );
  return { kind: "leaf", keyHash, valueHash, hash: leafHash(keyHash, valueHash) };
}

function internal(left: TreeNode | null, right: TreeNode | null): InternalNode {
  return { kind: "internal", left, right, hash: null };
}

/** Two leaves with different keys: internal nodes down to the first bit where the keys differ. */
function split(a: LeafNode, b: LeafNode, depth: number): InternalNode {
  assert(depth < TREE_DEPTH_MAX, "distinct key hashes differ in some bit");
  const bitA = keyBit(a.keyHash, depth);
  if (bitA === keyBit(b.keyHash, depth)) {
    const child = split(a, b, depth + 1);
    return bitA === 0 ? internal(child, null) : internal(null, child);
  }
  return bitA === 0 ? internal(a, b) : internal(b, a);
}

export class SparseMerkleTree {
  private top: TreeNode | null = null;
  private leafCount = 0;

  /** Builds a tree from leaves in any order; key hashes must be distinct. */
  static fromLeaves(leaves: Iterable<{ keyHash: Uint8Array; valueHash: Uint8Array }>): SparseMerkleTree {
    const sorted = [...leaves].map((l) => makeLeaf(l.keyHash, l.valueHash));
    sorted.sort((a, b) => Buffer.compare(a.keyHash, b.keyHash));
    for (let i = 1; i < sorted.length; i++) {
      assert(!bytesEqual(sorted[i - 1]!.keyHash, sorted[i]!.keyHash), "duplicate key hash in tree leaves");
    }
    const tree = new SparseMerkleTree();
    tree.top = build(sorted, 0, sorted.length, 0);
    tree.leafCount = sorted.length;
    return tree;
  }

  get size(): number {
    return this.leafCount;
  }

  /** Sets (valueHash) or removes (null) the leaf of `keyHash`. Hashing waits for `root()`. */
  update(keyHash: Uint8Array, valueHash: Uint8Array | null): void {
    assert(keyHash.byteLength === DIGEST_BYTES, "key hash is 32 bytes");
    if (valueHash === null) {
      if (this.get(keyHash) !== null) this.top = this.remove(this.top, 0, keyHash);
    } else this.top = this.insert(this.top, 0, makeLeaf(keyHash, valueHash));
  }

  /** The root hash, rehashing only the nodes dirtied since the last call. */
  root(): Uint8Array {
    return nodeHash(this.top);
  }

  /** The value hash stored for `keyHash`, or null. Walks the path without hashing. */
  get(keyHash: Uint8Array): Uint8Array | null {
    let node = this.top;
    let depth = 0;
    while (node !== null && node.kind === "internal")
      node = keyBit(keyHash, depth++) === 0 ? node.left : node.right;
    return node !== null && bytesEqual(node.keyHash, keyHash) ? node.valueHash : null;
  }

  /** The siblings along the path of `keyHash` and where it ends, for proofs. Hashes dirty nodes first. */
  path(keyHash: Uint8Array): TreePath {
    this.root();
    const siblings: Uint8Array[] = [];
    let node = this.top;
    let depth = 0;
    while (node !== null && node.kind === "internal") {
      const bit = keyBit(keyHash, depth);
      siblings.push(nodeHash(bit === 0 ? node.right : node.left));
      node = bit === 0 ? node.left : node.right;
      depth++;
    }
    return { siblings, leaf: node === null ? null : { keyHash: node.keyHash, valueHash: node.valueHash } };
  }

  private insert(node: TreeNode | null, depth: number, leaf: LeafNode): TreeNode {
    if (node === null) {
      this.leafCount++;
      return leaf;
    }
    if (node.kind === "leaf") {
      if (bytesEqual(node.keyHash, leaf.keyHash)) return leaf;
      this.leafCount++;
      return split(node, leaf, depth);
    }
    if (keyBit(leaf.keyHash, depth) === 0) node.left = this.insert(node.left, depth + 1, leaf);
    else node.right = this.insert(node.right, depth + 1, leaf);
    node.hash = null;
    return node;
  }

  /** Removes a key known to be present (so every node on its path changes). */
  private remove(node: TreeNode | null, depth: number, keyHash: Uint8Array): TreeNode | null {
    if (node === null) return null;
    if (node.kind === "leaf") {
      if (!bytesEqual(node.keyHash, keyHash)) return node;
      this.leafCount--;
      return null;
    }
    const goLeft = keyBit(keyHash, depth) === 0;
    const before = goLeft ? node.left : node.right;
    const after = this.remove(before, depth + 1, keyHash);
    if (goLeft) node.left = after;
    else node.right = after;
    node.hash = null;
    // Keep the compression invariant: a subtree with a single leaf is that leaf.
    const { left, right } = node;
    if (left === null && right === null) return null;
    if (left === null && right !== null && right.kind === "leaf") return right;
    if (right === null && left !== null && left.kind === "leaf") return left;
    return node;
  }
}

function nodeHash(node: TreeNode | null): Uint8Array {
  if (node === null) return EMPTY_ROOT;
  if (node.kind === "leaf") return node.hash;
  if (node.hash !== null) return node.hash;
  node.hash = internalHash(nodeHash(node.left), nodeHash(node.right));
  return node.hash;
}

/** Builds the subtree at `depth` of leaves[from, to), sorted by key hash. */
function build(leaves: readonly LeafNode[], from: number, to: number, depth: number): TreeNode | null {
  if (to - from === 0) return null;
  if (to - from === 1) return leaves[from]!;
  // First index whose bit at `depth` is 1 (the range is sorted, so bits go 0...0 1...1).
  let low = from;
  let high = to;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (keyBit(leaves[mid]!.keyHash, depth) === 0) low = mid + 1;
    else high = mid;
  }
  return internal(build(leaves, from, low, depth + 1), build(leaves, low, to, depth + 1));
}
