import {
  type Account,
  ADDRESS_BYTES,
  AMOUNT_MAX,
  addressFromPublicKey,
  byteKey,
  CHAIN_ID_BYTES_MAX,
  COMMITTEE_SIZE_MAX,
  Domain,
  encode,
  encodeAccount,
  formatAddress,
  fromHex,
  HyperspaceError,
  hash,
  PUBLIC_KEY_BYTES,
  parseAddress,
  toHex,
} from "../spec/index.ts";
import {
  GENESIS_ACCOUNTS_MAX,
  MIN_FEE_DEFAULT,
  MIN_VALIDATOR_STAKE_DEFAULT,
  MULTIADDR_BYTES_MAX,
  MULTIADDRS_MAX,
  PEER_ID_BYTES_MAX,
  VALIDATOR_NAME_BYTES_MAX,
} from "./constants.ts";
import { LedgerError } from "./errors.ts";
import { LedgerState } from "./state.ts";
import {
  accountKey,
  BURNED_KEY,
  encodeAmount,
  encodeChainParams,
  PARAMS_KEY,
  validatorKey,
} from "./state-keys.ts";
import { encodeValidatorEntry, type ValidatorEntry, ValidatorEntryCodec } from "./validator.ts";

/**
 * Genesis: the chain's parameters, initial balances and initial validator
 * set. Validated and put in canonical order (accounts and validators sorted
 * by address) by `createGenesis` and `parseGenesis`, so every node that reads
 * the same file computes the same digest and the same genesis state root.
 *
 * JSON form (amounts are decimal strings, public keys hex):
 *   { "chainId": "hyperspace-devnet", "genesisTimeMs": 1700000000000,
 *     "minValidatorStake": "1000", "minFee": "1",
 *     "accounts": [{ "address": "hs1...", "balance": "1000000" }],
 *     "validators": [{ "publicKey": "<hex>", "stake": "1000", "name": "v1",
 *                      "peerId": "12D3...", "multiaddrs": ["/ip4/..."] }] }
 * A validator's stake is locked in its own account, in addition to any
 * balance that account is given in "accounts".
 */

export interface GenesisAccount {
  readonly address: Uint8Array;
  readonly balance: bigint;
}

export type GenesisValidator = ValidatorEntry;

export interface Genesis {
  readonly chainId: string;
  readonly genesisTimeMs: number;
  readonly minValidatorStake: bigint;
  readonly minFee: bigint;
  readonly accounts: readonly GenesisAccount[];
  readonly validators: readonly GenesisValidator[];
}

export interface CreateGenesisOptions {
  readonly chainId: string;
  readonly genesisTimeMs: number;
  readonly minValidatorStake?: bigint;
  readonly minFee?: bigint;
  readonly accounts?: readonly GenesisAccount[];
  readonly validators?: readonly {
    readonly publicKey: Uint8Array;
    readonly stake: bigint;
    readonly name?: string;
    readonly peerId?: string;
    readonly multiaddrs?: readonly string[];
  }[];
}

function bad(message: string): LedgerError {
  return new LedgerError("BAD_GENESIS", message, {});
}

function checkAmount(amount: bigint, what: string): void {
  if (amount < 0n || amount > AMOUNT_MAX) throw bad(`${what} out of range`);
}

function checkString(text: string, maxBytes: number, what: string): void {
  if (Buffer.byteLength(text, "utf8") > maxBytes) throw bad(`${what} longer than ${maxBytes} bytes`);
}

const compareAddress = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b);

/** Validates the options and returns the genesis in canonical order; throws LedgerError BAD_GENESIS. */
export function createGenesis(options: CreateGenesisOptions): Genesis {
  const { chainId, genesisTimeMs } = options;
  if (chainId.length === 0 || !/^[\x21-\x7e]+$/.test(chainId)) throw bad("chainId must be printable ASCII");
  checkString(chainId, CHAIN_ID_BYTES_MAX, "chainId");
  if (!Number.isSafeInteger(genesisTimeMs) || genesisTimeMs < 0)
    throw bad("genesisTimeMs must be a non-negative integer");
  const minValidatorStake = options.minValidatorStake ?? MIN_VALIDATOR_STAKE_DEFAULT;
  const minFee = options.minFee ?? MIN_FEE_DEFAULT;
  checkAmount(minValidatorStake, "minValidatorStake");
  checkAmount(minFee, "minFee");

  const accounts = [...(options.accounts ?? [])];
  if (accounts.length > GENESIS_ACCOUNTS_MAX) throw bad(`more than ${GENESIS_ACCOUNTS_MAX} accounts`);
  for (const a of accounts) {
    if (a.address.byteLength !== ADDRESS_BYTES) throw bad("account address must be 20 bytes");
    checkAmount(a.balance, `balance of ${formatAddress(a.address)}`);
  }
  accounts.sort((a, b) => compareAddress(a.address, b.address));
  for (let i = 1; i < accounts.length; i++) {
    if (compareAddress(accounts[i - 1]!.address, accounts[i]!.address) === 0)
      throw bad(`account ${formatAddress(accounts[i]!.address)} listed twice`);
  }

  const validators: ValidatorEntry[] = (options.validators ?? []).map((v) => {
    if (v.publicKey.byteLength !== PUBLIC_KEY_BYTES) throw bad("validator public key must be 32 bytes");
    checkAmount(v.stake, "validator stake");
    if (v.stake < minValidatorStake) throw bad(`validator stake ${v.stake} < minimum ${minValidatorStake}`);
    const entry = {
      publicKey: v.publicKey,
      stake: v.stake,
      name: v.name ?? "",
      peerId: v.peerId ?? "",
      multiaddrs: [...(v.multiaddrs ?? [])],
    };
    checkString(entry.name, VALIDATOR_NAME_BYTES_MAX, "validator name");
    checkString(entry.peerId, PEER_ID_BYTES_MAX, "validator peerId");
    if (entry.multiaddrs.length > MULTIADDRS_MAX) throw bad(`more than ${MULTIADDRS_MAX} multiaddrs`);
    for (const m of entry.multiaddrs) checkString(m, MULTIADDR_BYTES_MAX, "multiaddr");
    return entry;
  });
  if (validators.length > COMMITTEE_SIZE_MAX) throw bad(`more than ${COMMITTEE_SIZE_MAX} validators`);
  const withAddress = validators
    .map((v) => ({ v, address: addressFromPublicKey(v.publicKey) }))
    .sort((a, b) => compareAddress(a.address, b.address));
  for (let i = 1; i < withAddress.length; i++) {
    if (compareAddress(withAddress[i - 1]!.address, withAddress[i]!.address) === 0)
      throw bad(`validator ${toHex(withAddress[i]!.v.publicKey)} listed twice`);
  }

  let total = 0n;
  for (const a of accounts) total += a.balance;
  for (const v of validators) total += v.stake;
  if (total > AMOUNT_MAX) throw bad("total supply exceeds 2^64 - 1");

  return {
    chainId,
    genesisTimeMs,
    minValidatorStake,
    minFee,
    accounts,
    validators: withAddress.map((x) => x.v),
  };
}

/** The digest of the genesis (its canonical encoding): a data dir remembers it and refuses another. */
export function genesisDigest(genesis: Genesis): Uint8Array {
  return hash(
    Domain.Genesis,
    encode([
      genesis.chainId,
      genesis.genesisTimeMs,
      genesis.minValidatorStake,
      genesis.minFee,
      genesis.accounts.map((a) => [a.address, a.balance]),
      genesis.validators.map((v) => ValidatorEntryCodec.toValue(v)),
    ]),
  );
}

/** The state entries (store key, value) the genesis defines. */
export function genesisEntries(genesis: Genesis): { key: Uint8Array; value: Uint8Array }[] {
  const accounts = new Map<string, { address: Uint8Array; account: Account }>();
  const touch = (address: Uint8Array) => {
    const id = byteKey(address);
    let entry = accounts.get(id);
    if (entry === undefined) {
      entry = { address, account: { balance: 0n, nonce: 0, stake: 0n } };
      accounts.set(id, entry);
    }
    return entry;
  };
  for (const a of genesis.accounts) {
    const entry = touch(a.address);
    entry.account = { ...entry.account, balance: a.balance };
  }
  const entries: { key: Uint8Array; value: Uint8Array }[] = [
    {
      key: PARAMS_KEY,
      value: encodeChainParams({
        chainId: genesis.chainId,
        genesisTimeMs: genesis.genesisTimeMs,
        minValidatorStake: genesis.minValidatorStake,
        minFee: genesis.minFee,
      }),
    },
    { key: BURNED_KEY, value: encodeAmount(0n) },
  ];
  for (const v of genesis.validators) {
    const address = addressFromPublicKey(v.publicKey);
    const entry = touch(address);
    entry.account = { ...entry.account, stake: v.stake };
    entries.push({ key: validatorKey(address), value: encodeValidatorEntry(v) });
  }
  for (const { address, account } of accounts.values()) {
    if (account.balance === 0n && account.stake === 0n) continue; // empty accounts are not stored
    entries.push({ key: accountKey(address), value: encodeAccount(account) });
  }
  return entries;
}

export function genesisState(genesis: Genesis): LedgerState {
  return LedgerState.fromEntries(genesisEntries(genesis));
}

export function genesisStateRoot(genesis: Genesis): Uint8Array {
  return genesisState(genesis).root();
}

/** Total value at genesis: Σ balances + Σ stakes. `supply + burned` equals it forever. */
export function genesisSupply(genesis: Genesis): bigint {
  let total = 0n;
  for (const a of genesis.accounts) total += a.balance;
  for (const v of genesis.validators) total += v.stake;
  return total;
}

// ---- JSON ----

export interface GenesisJson {
  chainId: string;
  genesisTimeMs: number;
  minValidatorStake: string;
  minFee: string;
  accounts: { address: string; balance: string }[];
  validators: {
    address: string;
    publicKey: string;
    stake: string;
    name: string;
    peerId: string;
    multiaddrs: string[];
  }[];
}

export function genesisToJson(genesis: Genesis): GenesisJson {
  return {
    chainId: genesis.chainId,
    genesisTimeMs: genesis.genesisTimeMs,
    minValidatorStake: genesis.minValidatorStake.toString(),
    minFee: genesis.minFee.toString(),
    accounts: genesis.accounts.map((a) => ({
      address: formatAddress(a.address),
      balance: a.balance.toString(),
    })),
    validators: genesis.validators.map((v) => ({
      address: formatAddress(addressFromPublicKey(v.publicKey)),
      publicKey: toHex(v.publicKey),
      stake: v.stake.toString(),
      name: v.name,
      peerId: v.peerId,
      multiaddrs: [...v.multiaddrs],
    })),
  };
}

/** The genesis file text: pretty JSON with a final newline. */
export function formatGenesis(genesis: Genesis): string {
  return `${JSON.stringify(genesisToJson(genesis), null, 2)}\n`;
}

type Json = unknown;

function field(object: Record<string, Json>, name: string, where: string): Json {
  if (!(name in object)) throw bad(`${where}: missing field "${name}"`);
  return object[name];
}

function asObject(value: Json, where: string): Record<string, Json> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw bad(`${where}: expected an object`);
  return value as Record<string, Json>;
}

function asString(value: Json, where: string): string {
  if (typeof value !== "string") throw bad(`${where}: expected a string`);
  return value;
}

function asAmount(value: Json, where: string): bigint {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (typeof value !== "string" || !/^(0|[1-9][0-9]*)$/.test(value))
    throw bad(`${where}: expected a decimal amount`);
  const amount = BigInt(value);
  checkAmount(amount, where);
  return amount;
}

function asArray(value: Json, where: string): Json[] {
  if (!Array.isArray(value)) throw bad(`${where}: expected an array`);
  return value;
}

/**
 * Parses a genesis file (text or already-parsed JSON). Every problem is a
 * LedgerError BAD_GENESIS naming the field. A validator's optional
 * "address" must match its public key.
 */
export function parseGenesis(json: string | Json): Genesis {
  let value: Json = json;
  if (typeof json === "string") {
    try {
      value = JSON.parse(json);
    } catch (error) {
      throw bad(`not JSON: ${(error as Error).message}`);
    }
  }
  const root = asObject(value, "genesis");
  const genesisTimeMs = field(root, "genesisTimeMs", "genesis");
  if (typeof genesisTimeMs !== "number") throw bad("genesis.genesisTimeMs: expected a number");
  try {
    return createGenesis({
      chainId: asString(field(root, "chainId", "genesis"), "genesis.chainId"),
      genesisTimeMs,
      minValidatorStake:
        root.minValidatorStake === undefined
          ? undefined
          : asAmount(root.minValidatorStake, "genesis.minValidatorStake"),
      minFee: root.minFee === undefined ? undefined : asAmount(root.minFee, "genesis.minFee"),
      accounts: asArray(root.accounts ?? [], "genesis.accounts").map((item, i) => {
        const where = `genesis.accounts[${i}]`;
        const a = asObject(item, where);
        return {
          address: parseAddress(asString(field(a, "address", where), `${where}.address`)),
          balance: asAmount(field(a, "balance", where), `${where}.balance`),
        };
      }),
      validators: asArray(root.validators ?? [], "genesis.validators").map((item, i) => {
        const where = `genesis.validators[${i}]`;
        const v = asObject(item, where);
        const publicKey = fromHex(asString(field(v, "publicKey", where), `${where}.publicKey`));
        if (publicKey === null || publicKey.byteLength !== PUBLIC_KEY_BYTES)
          throw bad(`${where}.publicKey: expected 32 bytes of hex`);
        if (v.address !== undefined) {
          const address = parseAddress(asString(v.address, `${where}.address`));
          if (compareAddress(address, addressFromPublicKey(publicKey)) !== 0)
            throw bad(`${where}.address does not match its public key`);
        }
        return {
          publicKey,
          stake: asAmount(field(v, "stake", where), `${where}.stake`),
          name: v.name === undefined ? "" : asString(v.name, `${where}.name`),
          peerId: v.peerId === undefined ? "" : asString(v.peerId, `${where}.peerId`),
          multiaddrs: asArray(v.multiaddrs ?? [], `${where}.multiaddrs`).map((m, j) =>
            asString(m, `${where}.multiaddrs[${j}]`),
          ),
        };
      }),
    });
  } catch (error) {
    if (error instanceof LedgerError || !(error instanceof HyperspaceError)) throw error;
    throw bad(error.message); // an AddressError from a bad "hs1..." string
  }
}
