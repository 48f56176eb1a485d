import { Bucket, type KindHandler, type LedgerModule, type TxContext } from "../ledger/index.ts";
import {
  addressFromPublicKey,
  assert,
  bytesEqual,
  toHex,
  type Voucher,
  verify,
  verifyVoucher,
} from "../spec/index.ts";
import { deriveChannelId } from "./channel-id.ts";
import {
  CHALLENGE_PERIOD_COMMITS_MAX,
  CHALLENGE_PERIOD_COMMITS_MIN,
  CHANNELS_MODULE_NAME,
} from "./constants.ts";
import { ChannelError } from "./errors.ts";
import { type ChannelEvent, ChannelEventName, encodeChannelEvent, SettlementKind } from "./events.ts";
import {
  type ChannelChallenge,
  type ChannelClose,
  type ChannelCooperativeClose,
  ChannelKind,
  type ChannelOpen,
  type ChannelSettle,
  type ChannelTopUp,
  cooperativeCloseDigest,
  decodeChannelChallenge,
  decodeChannelClose,
  decodeChannelCooperativeClose,
  decodeChannelOpen,
  decodeChannelSettle,
  decodeChannelTopUp,
} from "./payloads.ts";
import { type ChannelRecord, channelStateKey, decodeChannelRecord, encodeChannelRecord } from "./record.ts";

/**
 * The channels ledger module: one-way payment channels.
 *
 * Lifetime without cheating: `channel.open`, then `channel.close` by the
 * payee with the newest voucher (settles at once) or
 * `channel.cooperative-close` signed by both (settles at once): two
 * transactions. With a dispute: `channel.open`, `channel.close` by the payer
 * (starts the challenge period, claiming the voucher it names),
 * `channel.challenge` by the payee with a higher voucher, `channel.settle`
 * after the period: four transactions.
 *
 * Vouchers are cumulative, so "newer" means "higher cumulativeAmount": the
 * payer signs every voucher, so ordering by amount is the one order in which
 * no voucher the payer signs can lower what the payee already holds. A voucher
 * is valid for a channel when its chain id is this chain's, its channel id is
 * this channel's, and the payer's key signed it. Payouts are capped at the
 * deposit, and every value move goes through the module's escrow, so the
 * ledger's conservation check covers channels too.
 *
 * Who may do what: only the payer opens, tops up, and starts a unilateral
 * close; only the payee challenges; payee close pays out at once; either
 * party settles after the period; a cooperative close needs both signatures
 * and is sent by either party.
 */

function loadChannel(context: TxContext, channelId: Uint8Array): ChannelRecord {
  const bytes = context.getModuleValue(channelStateKey(channelId));
  if (bytes === null) {
    throw new ChannelError("CHANNEL_NOT_FOUND", `no open channel ${toHex(channelId)}`, {
      channelId: toHex(channelId),
    });
  }
  return decodeChannelRecord(bytes);
}

function storeChannel(context: TxContext, channelId: Uint8Array, record: ChannelRecord): void {
  context.setModuleValue(channelStateKey(channelId), encodeChannelRecord(record));
}

function emit(context: TxContext, event: ChannelEvent): void {
  const { name, data } = encodeChannelEvent(event);
  context.emit(name, data);
}

function isPayer(context: TxContext, record: ChannelRecord): boolean {
  return bytesEqual(context.sender, record.payer);
}

function isPayee(context: TxContext, record: ChannelRecord): boolean {
  return bytesEqual(context.sender, record.payee);
}

/** Checks that `voucher` belongs to this chain and channel and that the payer signed it. */
export function checkVoucher(
  chainId: string,
  channelId: Uint8Array,
  record: ChannelRecord,
  voucher: Voucher,
): void {
  if (voucher.chainId !== chainId) {
    throw new ChannelError("WRONG_CHAIN", `voucher for chain ${voucher.chainId.slice(0, 64)}`, {});
  }
  if (!bytesEqual(voucher.channelId, channelId)) {
    throw new ChannelError("WRONG_CHANNEL", `voucher for channel ${toHex(voucher.channelId)}`, {});
  }
  if (!verifyVoucher(voucher, record.payerPublicKey)) {
    throw new ChannelError("BAD_SIGNATURE", "the voucher is not signed by the channel's payer", {});
  }
}

/** Pays the channel out (at most the deposit to the payee, the rest to the payer) and deletes it. */
function settle(
  context: TxContext,
  channelId: Uint8Array,
  record: ChannelRecord,
  claimed: bigint,
  how: (typeof SettlementKind)[keyof typeof SettlementKind],
): void {
  const payeeAmount = claimed < record.deposit ? claimed : record.deposit;
  const payerAmount = record.deposit - payeeAmount;
  context.releaseTo(record.payee, payeeAmount);
  context.releaseTo(record.payer, payerAmount);
  context.deleteModuleValue(channelStateKey(channelId));
  emit(context, { name: ChannelEventName.Settled, channelId, payeeAmount, payerAmount, how });
}

const open: KindHandler<ChannelOpen> = {
  decode: decodeChannelOpen,
  apply(context, payload) {
    if (bytesEqual(payload.payee, context.sender)) {
      throw new ChannelError("SELF_CHANNEL", "a channel needs two parties", {});
    }
    if (payload.deposit === 0n) throw new ChannelError("BAD_AMOUNT", "the deposit must be positive", {});
    if (
      payload.challengePeriod < CHALLENGE_PERIOD_COMMITS_MIN ||
      payload.challengePeriod > CHALLENGE_PERIOD_COMMITS_MAX
    ) {
      throw new ChannelError(
        "BAD_CHALLENGE_PERIOD",
        `challenge period ${payload.challengePeriod} not in [${CHALLENGE_PERIOD_COMMITS_MIN}, ${CHALLENGE_PERIOD_COMMITS_MAX}] commits`,
        { challengePeriod: payload.challengePeriod },
      );
    }
    const channelId = deriveChannelId(context.chainId, context.sender, payload.payee, context.nonce);
    assert(
      context.getModuleValue(channelStateKey(channelId)) === null,
      "a channel id is never opened twice (nonces never repeat)",
    );
    context.lockFromSender(payload.deposit);
    storeChannel(context, channelId, {
      payer: context.sender,
      payerPublicKey: context.senderPublicKey,
      payee: payload.payee,
      deposit: payload.deposit,
      challengePeriod: payload.challengePeriod,
      openedAtCommit: context.commitIndex,
      closing: null,
    });
    emit(context, {
      name: ChannelEventName.Opened,
      channelId,
      payer: context.sender,
      payee: payload.payee,
      deposit: payload.deposit,
      challengePeriod: payload.challengePeriod,
    });
  },
};

const topUp: KindHandler<ChannelTopUp> = {
  decode: decodeChannelTopUp,
  apply(context, payload) {
    const record = loadChannel(context, payload.channelId);
    if (!isPayer(context, record)) throw new ChannelError("NOT_PAYER", "only the payer tops up", {});
    if (payload.amount === 0n) throw new ChannelError("BAD_AMOUNT", "a top-up must be positive", {});
    context.lockFromSender(payload.amount);
    const deposit = record.deposit + payload.amount;
    storeChannel(context, payload.channelId, { ...record, deposit, closing: null });
    emit(context, {
      name: ChannelEventName.ToppedUp,
      channelId: payload.channelId,
      amount: payload.amount,
      deposit,
      closeCancelled: record.closing !== null,
    });
  },
};

const close: KindHandler<ChannelClose> = {
  decode: decodeChannelClose,
  apply(context, payload) {
    const { channelId, voucher } = payload;
    const record = loadChannel(context, channelId);
    if (voucher !== null) checkVoucher(context.chainId, channelId, record, voucher);
    const presented = voucher?.cumulativeAmount ?? 0n;
    if (isPayee(context, record)) {
      const pending = record.closing?.amount ?? 0n;
      settle(
        context,
        channelId,
        record,
        presented > pending ? presented : pending,
        SettlementKind.PayeeClose,
      );
      return;
    }
    if (!isPayer(context, record)) {
      throw new ChannelError("NOT_PARTICIPANT", "only the payer or the payee closes", {});
    }
    if (record.closing !== null) throw new ChannelError("CLOSE_PENDING", "a close is already pending", {});
    const deadlineCommit = context.commitIndex + record.challengePeriod;
    const sequence = voucher?.sequence ?? 0;
    storeChannel(context, channelId, {
      ...record,
      closing: { amount: presented, sequence, startedAtCommit: context.commitIndex, deadlineCommit },
    });
    emit(context, {
      name: ChannelEventName.CloseStarted,
      channelId,
      amount: presented,
      sequence,
      deadlineCommit,
    });
  },
};

const challenge: KindHandler<ChannelChallenge> = {
  decode: decodeChannelChallenge,
  apply(context, payload) {
    const { channelId, voucher } = payload;
    const record = loadChannel(context, channelId);
    if (!isPayee(context, record)) throw new ChannelError("NOT_PAYEE", "only the payee challenges", {});
    const closing = record.closing;
    if (closing === null) throw new ChannelError("NO_CLOSE_PENDING", "no close to challenge", {});
    if (context.commitIndex > closing.deadlineCommit) {
      throw new ChannelError(
        "CHALLENGE_PERIOD_OVER",
        `the period ended at commit ${closing.deadlineCommit}`,
        {
          deadlineCommit: closing.deadlineCommit,
        },
      );
    }
    checkVoucher(context.chainId, channelId, record, voucher);
    if (voucher.cumulativeAmount <= closing.amount) {
      throw new ChannelError(
        "STALE_VOUCHER",
        `voucher amount ${voucher.cumulativeAmount} <= claimed ${closing.amount}`,
        { amount: voucher.cumulativeAmount, claimed: closing.amount },
      );
    }
    storeChannel(context, channelId, {
      ...record,
      closing: { ...closing, amount: voucher.cumulativeAmount, sequence: voucher.sequence },
    });
    emit(context, {
      name: ChannelEventName.Challenged,
      channelId,
      amount: voucher.cumulativeAmount,
      sequence: voucher.sequence,
    });
  },
};

const settleAfterPeriod: KindHandler<ChannelSettle> = {
  decode: decodeChannelSettle,
  apply(context, payload) {
    const record = loadChannel(context, payload.channelId);
    if (!isPayer(context, record) && !isPayee(context, record)) {
      throw new ChannelError("NOT_PARTICIPANT", "only the payer or the payee settles", {});
    }
    const closing = record.closing;
    if (closing === null) throw new ChannelError("NO_CLOSE_PENDING", "no close to settle", {});
    if (context.commitIndex <= closing.deadlineCommit) {
      throw new ChannelError(
        "CHALLENGE_PERIOD_RUNNING",
        `the challenge period runs to commit ${closing.deadlineCommit}`,
        { deadlineCommit: closing.deadlineCommit },
      );
    }
    settle(context, payload.channelId, record, closing.amount, SettlementKind.AfterChallengePeriod);
  },
};

const cooperativeClose: KindHandler<ChannelCooperativeClose> = {
  decode: decodeChannelCooperativeClose,
  apply(context, payload) {
    const { channelId } = payload;
    const record = loadChannel(context, channelId);
    if (!isPayer(context, record) && !isPayee(context, record)) {
      throw new ChannelError("NOT_PARTICIPANT", "only the payer or the payee closes", {});
    }
    if (payload.payeeAmount > record.deposit) {
      throw new ChannelError("AMOUNT_EXCEEDS_DEPOSIT", `${payload.payeeAmount} > deposit ${record.deposit}`, {
        amount: payload.payeeAmount,
        deposit: record.deposit,
      });
    }
    if (!bytesEqual(addressFromPublicKey(payload.payeePublicKey), record.payee)) {
      throw new ChannelError("BAD_SIGNATURE", "the payee key is not the channel payee's", {});
    }
    const digest = cooperativeCloseDigest({
      chainId: context.chainId,
      channelId,
      payeeAmount: payload.payeeAmount,
    });
    if (!verify(payload.payerSignature, digest, record.payerPublicKey)) {
      throw new ChannelError("BAD_SIGNATURE", "the payer did not sign this close", {});
    }
    if (!verify(payload.payeeSignature, digest, payload.payeePublicKey)) {
      throw new ChannelError("BAD_SIGNATURE", "the payee did not sign this close", {});
    }
    settle(context, channelId, record, payload.payeeAmount, SettlementKind.Cooperative);
  },
};

export const channelsModule: LedgerModule = {
  name: CHANNELS_MODULE_NAME,
  bucket: Bucket.channelsState,
  kinds: {
    [ChannelKind.Open]: open,
    [ChannelKind.TopUp]: topUp,
    [ChannelKind.Close]: close,
    [ChannelKind.Challenge]: challenge,
    [ChannelKind.Settle]: settleAfterPeriod,
    [ChannelKind.CooperativeClose]: cooperativeClose,
  },
};
