import {
  ADDRESS_BYTES,
  AMOUNT_MAX,
  DIGEST_BYTES,
  formatAddress,
  fromHex,
  PUBLIC_KEY_BYTES,
  parseAddress,
  toHex,
} from "../spec/index.ts";
import { ChannelError } from "./errors.ts";
import type { ChannelRecord } from "./record.ts";

/**
 * The JSON form of a channel's on-chain record, as the node's RPC serves it
 * (hs_getChannel, hs_listChannels): addresses as "hs1...", keys and ids as
 * hex, amounts as decimal strings.
 *
 *   { "channelId": hex, "payer": "hs1...", "payerPublicKey": hex, "payee": "hs1...",
 *     "deposit": "1000", "challengePeriod": 600, "openedAtCommit": 12,
 *     "closing": null | { "amount": "40", "sequence": 4, "startedAtCommit": 30, "deadlineCommit": 630 } }
 */
export interface ChannelRecordJson {
  channelId: string;
  payer: string;
  payerPublicKey: string;
  payee: string;
  deposit: string;
  challengePeriod: number;
  openedAtCommit: number;
  closing: { amount: string; sequence: number; startedAtCommit: number; deadlineCommit: number } | null;
}

export function channelRecordToJson(channelId: Uint8Array, record: ChannelRecord): ChannelRecordJson {
  return {
    channelId: toHex(channelId),
    payer: formatAddress(record.payer),
    payerPublicKey: toHex(record.payerPublicKey),
    payee: formatAddress(record.payee),
    deposit: record.deposit.toString(),
    challengePeriod: record.challengePeriod,
    openedAtCommit: record.openedAtCommit,
    closing:
      record.closing === null
        ? null
        : {
            amount: record.closing.amount.toString(),
            sequence: record.closing.sequence,
            startedAtCommit: record.closing.startedAtCommit,
            deadlineCommit: record.closing.deadlineCommit,
          },
  };
}

function bad(what: string): ChannelError {
  return new ChannelError("CORRUPT_RECORD", `channel JSON: ${what}`, {});
}

function hexField(value: unknown, bytes: number, what: string): Uint8Array {
  const parsed = typeof value === "string" ? fromHex(value) : null;
  if (parsed === null || parsed.byteLength !== bytes) throw bad(`${what} must be ${bytes} bytes of hex`);
  return parsed;
}

function addressField(value: unknown, what: string): Uint8Array {
  if (typeof value !== "string") throw bad(`${what} must be an address`);
  try {
    const address = parseAddress(value);
    if (address.byteLength !== ADDRESS_BYTES) throw bad(`${what} must be an address`);
    return address;
  } catch {
    throw bad(`${what} must be an address`);
  }
}

function amountField(value: unknown, what: string): bigint {
  if (typeof value !== "string" || !/^\d{1,20}$/.test(value)) throw bad(`${what} must be a decimal amount`);
  const amount = BigInt(value);
  if (amount > AMOUNT_MAX) throw bad(`${what} out of range`);
  return amount;
}

function integerField(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw bad(`${what} must be a non-negative integer`);
  }
  return value;
}

/** Parses the JSON form strictly; CORRUPT_RECORD on anything malformed. */
export function parseChannelRecordJson(json: unknown): { channelId: Uint8Array; record: ChannelRecord } {
  if (typeof json !== "object" || json === null) throw bad("not an object");
  const j = json as Record<string, unknown>;
  const closingJson = j.closing;
  let closing: ChannelRecord["closing"] = null;
  if (closingJson !== null) {
    if (typeof closingJson !== "object" || closingJson === undefined)
      throw bad("closing must be an object or null");
    const c = closingJson as Record<string, unknown>;
    closing = {
      amount: amountField(c.amount, "closing.amount"),
      sequence: integerField(c.sequence, "closing.sequence"),
      startedAtCommit: integerField(c.startedAtCommit, "closing.startedAtCommit"),
      deadlineCommit: integerField(c.deadlineCommit, "closing.deadlineCommit"),
    };
  }
  return {
    channelId: hexField(j.channelId, DIGEST_BYTES, "channelId"),
    record: {
      payer: addressField(j.payer, "payer"),
      payerPublicKey: hexField(j.payerPublicKey, PUBLIC_KEY_BYTES, "payerPublicKey"),
      payee: addressField(j.payee, "payee"),
      deposit: amountField(j.deposit, "deposit"),
      challengePeriod: integerField(j.challengePeriod, "challengePeriod"),
      openedAtCommit: integerField(j.openedAtCommit, "openedAtCommit"),
      closing,
    },
  };
}
