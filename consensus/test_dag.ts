/**
 * A text DAG for tests and conformance vectors.
 *
 *   DAG {                                   (the wrapper is optional)
 *     Round 0 : { 4 },                      genesis: A0, B0, C0, D0
 *     Round 1 : { * },                      every authority, referencing every first block of round 0
 *     Round 2 : {
 *       A -> [*],                           every authority's first block of round 1
 *       B -> [-D1],                         the same set without D's round-1 blocks
 *       C -> [A1, B1],                      named blocks, from any lower round
 *       C' -> [*],                          C's second (equivocating) block of round 2: C2'
 *     },
 *   }
 *
 * An authority that is not listed has no block that round. Every block
 * references its author's own previous block (highest lower round) first,
 * whether or not the list names it; where the author equivocated there, the
 * variant the list names, or else the first one. Then come the blocks of `*`
 * in authority order, then the named blocks in list order; duplicates are
 * dropped. Names are author, round and one prime per variant: C13, C13',
 * C13''. Authorities past Z are written [26], [27], ….
 * Trailing commas are allowed everywhere.
 */
import {
  type Block,
  type BlockBody,
  blockDigest,
  type KeyPair,
  SIGNATURE_BYTES,
  signBlock,
} from "../spec/index.ts";
import { blockKey } from "./block_ref.ts";
import { authorityName, Committee } from "./committee.ts";
import { DagParseError } from "./errors.ts";
import { genesisBlocks } from "./genesis.ts";

export interface TestDagOptions {
  /** Stakes in authority order; by default every authority has stake 1. Must match the genesis count. */
  readonly stakes?: readonly number[];
  /** Sign blocks with these keys (the committee then carries their public keys); unsigned otherwise. */
  readonly keys?: readonly KeyPair[];
  readonly epoch?: number;
}

export interface TestDag {
  readonly committee: Committee;
  readonly genesis: readonly Block[];
  /** Non-genesis blocks in the order the text defines them (every block after its ancestors). */
  readonly blocks: readonly Block[];
  /** The text name of a block ("C13'"), by `refKey`. */
  nameOf(key: string): string | undefined;
  block(name: string): Block | undefined;
}

type Token =
  | { readonly kind: "word"; readonly text: string; readonly at: number }
  | { readonly kind: "int"; readonly value: number; readonly at: number }
  | {
      readonly kind: "name";
      readonly author: number;
      readonly round: number | null;
      readonly variant: number;
      readonly at: number;
    }
  | { readonly kind: "punct"; readonly text: string; readonly at: number }
  | { readonly kind: "end"; readonly at: number };

const TOKEN_PATTERNS: readonly [RegExp, (m: RegExpExecArray, at: number) => Token | null][] = [
  [/\s+/y, () => null],
  [/(?:Round|DAG)\b/y, (m, at) => ({ kind: "word", text: m[0], at })],
  [/->/y, (m, at) => ({ kind: "punct", text: m[0], at })],
  [
    /(?:([A-Z])|\[(\d+)\])(\d*)('*)/y,
    (m, at) => ({
      kind: "name",
      author: m[1] !== undefined ? m[1].charCodeAt(0) - 65 : Number(m[2]),
      round: m[3] === "" ? null : Number(m[3]),
      variant: m[4]!.length,
      at,
    }),
  ],
  [/\d+/y, (m, at) => ({ kind: "int", value: Number(m[0]), at })],
  [/[{}[\]:,*-]/y, (m, at) => ({ kind: "punct", text: m[0], at })],
];

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  outer: while (at < text.length) {
    for (const [pattern, make] of TOKEN_PATTERNS) {
      pattern.lastIndex = at;
      const match = pattern.exec(text);
      if (match === null) continue;
      const token = make(match, at);
      if (token !== null) tokens.push(token);
      at = pattern.lastIndex;
      continue outer;
    }
    throw new DagParseError("SYNTAX", `unexpected character ${JSON.stringify(text[at])} at ${at}`, { at });
  }
  tokens.push({ kind: "end", at });
  return tokens;
}

function variantName(author: number, round: number, variant: number): string {
  return `${authorityName(author)}${round}${"'".repeat(variant)}`;
}

type Item =
  | { readonly kind: "all" }
  | { readonly kind: "exclude"; readonly author: number; readonly round: number; readonly at: number }
  | {
      readonly kind: "block";
      readonly author: number;
      readonly round: number;
      readonly variant: number;
      readonly at: number;
    };

class Parser {
  private index = 0;
  constructor(private readonly tokens: Token[]) {}

  peek(): Token {
    return this.tokens[this.index]!;
  }

  next(): Token {
    const token = this.tokens[this.index]!;
    if (token.kind !== "end") this.index++;
    return token;
  }

  isPunct(text: string): boolean {
    const token = this.peek();
    return token.kind === "punct" && token.text === text;
  }

  isWord(text: string): boolean {
    const token = this.peek();
    return token.kind === "word" && token.text === text;
  }

  expectPunct(text: string): void {
    const token = this.next();
    if (token.kind !== "punct" || token.text !== text) this.fail(token, `expected "${text}"`);
  }

  expectWord(text: string): void {
    const token = this.next();
    if (token.kind !== "word" || token.text !== text) this.fail(token, `expected "${text}"`);
  }

  expectInt(): number {
    const token = this.next();
    if (token.kind !== "int") return this.fail(token, "expected a number");
    return token.value;
  }

  optionalComma(): void {
    if (this.isPunct(",")) this.next();
  }

  fail(token: Token, message: string): never {
    throw new DagParseError("SYNTAX", `${message} at ${token.at}`, { at: token.at });
  }
}

/** Parses a text DAG into signed (or unsigned) blocks. Throws DagParseError. */
export function parseDag(text: string, options: TestDagOptions = {}): TestDag {
  const p: Parser = new Parser(tokenize(text));
  const wrapped = p.isWord("DAG");
  if (wrapped) {
    p.next();
    p.expectPunct("{");
  }
  p.expectWord("Round");
  const genesisAt = p.peek().at;
  if (p.expectInt() !== 0)
    throw new DagParseError("BAD_ROUND", "the first round must be Round 0", { at: genesisAt });
  p.expectPunct(":");
  p.expectPunct("{");
  const size = p.expectInt();
  p.expectPunct("}");
  p.optionalComma();
  if (size < 1 || size > 1024)
    throw new DagParseError("SYNTAX", `bad authority count ${size}`, { at: genesisAt });
  const stakes = options.stakes ?? new Array<number>(size).fill(1);
  if (stakes.length !== size) {
    throw new DagParseError("SYNTAX", `Round 0 declares ${size} authorities, stakes has ${stakes.length}`, {
      at: genesisAt,
    });
  }
  const committee = Committee.fromStakes(
    stakes,
    options.keys?.map((k) => k.publicKey),
    options.epoch ?? 0,
  );

  const genesis = genesisBlocks(committee);
  const names = new Map<string, string>();
  const byName = new Map<string, Block>();
  /** blocksBySlot[round][author] = variants in definition order. */
  const rounds: Block[][][] = [genesis.map((b) => [b])];
  const blocks: Block[] = [];
  const register = (block: Block, variant: number) => {
    const name = variantName(block.author, block.round, variant);
    names.set(blockKey(block), name);
    byName.set(name, block);
  };
  for (const b of genesis) register(b, 0);

  const lookup = (author: number, round: number, variant: number, at: number): Block => {
    const block = rounds[round]?.[author]?.[variant];
    if (block === undefined) {
      throw new DagParseError("UNKNOWN_BLOCK", `no block ${variantName(author, round, variant)} at ${at}`, {
        at,
      });
    }
    return block;
  };

  let lastRound = 0;
  while (p.isWord("Round")) {
    p.next();
    const roundAt = p.peek().at;
    const round = p.expectInt();
    if (round <= lastRound) {
      throw new DagParseError("BAD_ROUND", `round ${round} after round ${lastRound} at ${roundAt}`, {
        at: roundAt,
      });
    }
    lastRound = round;
    p.expectPunct(":");
    p.expectPunct("{");
    const entries: { author: number; variant: number; items: Item[]; at: number }[] = [];
    if (p.isPunct("*")) {
      p.next();
      for (let author = 0; author < size; author++)
        entries.push({ author, variant: 0, items: [{ kind: "all" }], at: roundAt });
    } else {
      while (!p.isPunct("}")) {
        const head = p.next();
        if (head.kind !== "name" || head.round !== null) p.fail(head, "expected an author such as A or C'");
        if (head.author >= size)
          throw new DagParseError("UNKNOWN_AUTHOR", `author ${head.author} at ${head.at}`, { at: head.at });
        p.expectPunct("->");
        p.expectPunct("[");
        const items: Item[] = [];
        while (!p.isPunct("]")) {
          const token = p.next();
          if (token.kind === "punct" && token.text === "*") items.push({ kind: "all" });
          else if (token.kind === "punct" && token.text === "-") {
            const name = p.next();
            if (name.kind !== "name" || name.round === null || name.variant !== 0)
              p.fail(name, "expected a slot such as D3 after -");
            if (name.round !== round - 1) {
              throw new DagParseError(
                "BAD_ROUND",
                `-${variantName(name.author, name.round, 0)} must name round ${round - 1} at ${name.at}`,
                { at: name.at },
              );
            }
            items.push({ kind: "exclude", author: name.author, round: name.round, at: name.at });
          } else if (token.kind === "name" && token.round !== null) {
            if (token.round >= round) {
              throw new DagParseError(
                "BAD_ROUND",
                `ancestor round ${token.round} is not below ${round} at ${token.at}`,
                { at: token.at },
              );
            }
            items.push({
              kind: "block",
              author: token.author,
              round: token.round,
              variant: token.variant,
              at: token.at,
            });
          } else p.fail(token, "expected *, -X<round> or a block name");
          if (!p.isPunct("]")) p.expectPunct(",");
        }
        p.expectPunct("]");
        p.optionalComma();
        entries.push({ author: head.author, variant: head.variant, items, at: head.at });
      }
    }
    p.expectPunct("}");
    p.optionalComma();

    const layer: Block[][] = [];
    rounds[round] = layer;
    for (const entry of entries) {
      const variants = (layer[entry.author] ??= []);
      if (entry.variant !== variants.length) {
        throw new DagParseError(
          "BAD_VARIANT",
          `${variantName(entry.author, round, entry.variant)} defined out of order at ${entry.at}`,
          {
            at: entry.at,
          },
        );
      }
      const named = entry.items
        .filter((item) => item.kind === "block")
        .map((item) => lookup(item.author, item.round, item.variant, item.at));

      // Own previous block: the author's block at the highest lower round, the named variant if any.
      let own: Block | undefined;
      for (let r = round - 1; r >= 0 && own === undefined; r--) {
        const mine = rounds[r]?.[entry.author];
        if (mine === undefined || mine.length === 0) continue;
        own = named.find((b) => b.round === r && b.author === entry.author) ?? mine[0];
      }
      const ancestors: Block[] = [own!];
      if (entry.items.some((item) => item.kind !== "block")) {
        const excluded = new Set(
          entry.items.filter((i) => i.kind === "exclude").map((i) => (i as { author: number }).author),
        );
        const previous = rounds[round - 1] ?? [];
        for (let author = 0; author < size; author++) {
          const first = previous[author]?.[0];
          if (first !== undefined && !excluded.has(author)) ancestors.push(first);
        }
      }
      ancestors.push(...named);
      const unique = [...new Set(ancestors)];

      const body: BlockBody = {
        epoch: committee.epoch,
        round,
        author: entry.author,
        timestampMs: round * 1000,
        ancestors: unique.map((b) => ({ round: b.round, author: b.author, digest: blockDigest(b) })),
        transactions: entry.variant === 0 ? [] : [Uint8Array.of(entry.variant)],
      };
      const key = options.keys?.[entry.author];
      const block: Block =
        key !== undefined
          ? signBlock(body, key.secretKey)
          : { ...body, signature: new Uint8Array(SIGNATURE_BYTES) };
      variants.push(block);
      blocks.push(block);
      register(block, entry.variant);
    }
  }
  if (wrapped) p.expectPunct("}");
  const end = p.next();
  if (end.kind !== "end") p.fail(end, "unexpected text after the DAG");

  return {
    committee,
    genesis,
    blocks,
    nameOf: (key) => names.get(key),
    block: (name) => byName.get(name),
  };
}
