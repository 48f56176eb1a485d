import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { addressFromPublicKey, encodeAccount, formatAddress, generateKeyPair, toHex } from "../spec/index.ts";
import { runSeed } from "../spec/testing.ts";
import { LedgerError } from "./errors.ts";
import {
  createGenesis,
  formatGenesis,
  genesisDigest,
  genesisState,
  genesisStateRoot,
  genesisSupply,
  genesisToJson,
  parseGenesis,
} from "./genesis.ts";
import { verifyProof } from "./proof.ts";
import { accountKey } from "./state-keys.ts";
import { ADDRESSES, KEYS, testGenesis } from "./test-fixtures.ts";

const seed = runSeed("genesis.test");

const arbitraryGenesis = fc
  .record({
    chainId: fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
    genesisTimeMs: fc.nat(),
    accounts: fc.uniqueArray(
      fc.record({
        address: fc.uint8Array({ minLength: 20, maxLength: 20 }),
        balance: fc.bigInt({ min: 0n, max: 10n ** 15n }),
      }),
      {
        selector: (a) => toHex(a.address),
        maxLength: 12,
      },
    ),
    validators: fc.uniqueArray(
      fc.record({
        seed: fc.uint8Array({ minLength: 32, maxLength: 32 }),
        stake: fc.bigInt({ min: 1_000n, max: 10n ** 12n }),
        name: fc.string({ maxLength: 10 }),
      }),
      {
        selector: (v) => toHex(v.seed),
        maxLength: 5,
      },
    ),
  })
  .map((g) =>
    createGenesis({
      ...g,
      validators: g.validators.map((v) => ({
        publicKey: generateKeyPair(v.seed).publicKey,
        stake: v.stake,
        name: v.name,
      })),
    }),
  );

function expectBad(run: () => unknown): void {
  assert.throws(run, (e) => e instanceof LedgerError && e.code === "BAD_GENESIS");
}

describe("genesis", () => {
  it("round-trips through its JSON file with the same digest and state root, in any listed order", () => {
    fc.assert(
      fc.property(arbitraryGenesis, fc.boolean(), (genesis, reverse) => {
        const json = genesisToJson(genesis);
        if (reverse) {
          json.accounts.reverse();
          json.validators.reverse();
        }
        const parsed = parseGenesis(JSON.stringify(json));
        assert.equal(toHex(genesisDigest(parsed)), toHex(genesisDigest(genesis)));
        assert.equal(toHex(genesisStateRoot(parsed)), toHex(genesisStateRoot(genesis)));
        assert.equal(formatGenesis(parsed), formatGenesis(genesis));
        const totals = genesisState(parsed).totals();
        assert.equal(totals.supply, genesisSupply(genesis));
        assert.equal(totals.burned, 0n);
      }),
      { seed, numRuns: 60 },
    );
  });

  it("different chain ids or balances give different roots", () => {
    const a = testGenesis();
    const b = createGenesis({ ...a, chainId: "other" });
    const c = createGenesis({
      ...a,
      accounts: a.accounts.map((x, i) => (i === 0 ? { ...x, balance: x.balance + 1n } : x)),
    });
    const roots = new Set([a, b, c].map((g) => toHex(genesisStateRoot(g))));
    assert.equal(roots.size, 3);
  });

  it("puts every account, with its validator stake, under the root with a verifying proof", () => {
    const genesis = testGenesis();
    const state = genesisState(genesis);
    const v = KEYS[4]!;
    const proof = state.prove(accountKey(addressFromPublicKey(v.publicKey)));
    assert.ok(verifyProof(state.root(), proof));
    assert.equal(toHex(proof.value!), toHex(encodeAccount({ balance: 2_000n, nonce: 0, stake: 5_000n })));
    assert.equal(state.validatorList().length, 2);
  });

  it("rejects bad files with BAD_GENESIS", () => {
    const good = genesisToJson(testGenesis());
    const edit = (change: (g: ReturnType<typeof genesisToJson>) => void) => {
      const copy = structuredClone(good);
      change(copy);
      return JSON.stringify(copy);
    };
    expectBad(() => parseGenesis("{ not json"));
    expectBad(() => parseGenesis("[]"));
    expectBad(() => parseGenesis(edit((g) => g.accounts.push({ ...g.accounts[0]! }))));
    expectBad(() => parseGenesis(edit((g) => (g.accounts[0]!.address = "hs1notanaddress"))));
    expectBad(() => parseGenesis(edit((g) => (g.accounts[0]!.balance = "-5"))));
    expectBad(() => parseGenesis(edit((g) => (g.accounts[0]!.balance = "18446744073709551616"))));
    expectBad(() => parseGenesis(edit((g) => (g.accounts[1]!.balance = "18446744073709551615"))));
    expectBad(() => parseGenesis(edit((g) => (g.validators[0]!.stake = "999"))));
    expectBad(() => parseGenesis(edit((g) => (g.validators[0]!.address = formatAddress(ADDRESSES[0]!)))));
    expectBad(() => parseGenesis(edit((g) => (g.validators[0]!.publicKey = "abcd"))));
    expectBad(() => parseGenesis(edit((g) => (g.chainId = ""))));
    expectBad(() => parseGenesis(edit((g) => ((g as { genesisTimeMs: unknown }).genesisTimeMs = "soon"))));
  });
});
