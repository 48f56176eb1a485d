import { type Codec, decodeWith, encodeWith, FieldReader } from "./codec.ts";

/** An account's state: spendable balance, next nonce, and stake locked for validation. */
export interface Account {
  readonly balance: bigint;
  readonly nonce: number;
  readonly stake: bigint;
}

export const EMPTY_ACCOUNT: Account = { balance: 0n, nonce: 0, stake: 0n };

export const AccountCodec: Codec<Account> = {
  type: "Account",
  maxBytes: 64,
  toValue: (account) => [account.balance, account.nonce, account.stake],
  fromValue(value, type = "Account") {
    const reader = FieldReader.of(type, value, 3);
    return {
      balance: reader.amount("balance"),
      nonce: reader.integer("nonce"),
      stake: reader.amount("stake"),
    };
  },
};

export const encodeAccount = (account: Account): Uint8Array => encodeWith(AccountCodec, account);
export const decodeAccount = (bytes: Uint8Array): Account => decodeWith(AccountCodec, bytes);
