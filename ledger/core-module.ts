import {
  CoreKind,
  decodeStakePayload,
  decodeTransferPayload,
  decodeUnstakePayload,
  type StakePayload,
  type TransferPayload,
  type UnstakePayload,
} from "./core-payloads.ts";
import { LedgerError } from "./errors.ts";
import type { KindHandler, LedgerModule, TxContext } from "./module.ts";

/**
 * The core module: transfers and the validator set. It uses the same
 * registry and context as every other module.
 *
 * Staking rules: `stake` moves balance to stake and (re)registers the sender
 * as a validator with the payload's metadata; the resulting stake must be at
 * least the chain's minimum. `unstake` moves stake back to the balance at
 * once (this ledger has no unbonding period); what remains must be zero,
 * which removes the validator, or at least the minimum.
 */

const transfer: KindHandler<TransferPayload> = {
  decode: decodeTransferPayload,
  apply(context: TxContext, payload: TransferPayload): void {
    context.transferFromSender(payload.to, payload.amount);
  },
};

const stake: KindHandler<StakePayload> = {
  decode: decodeStakePayload,
  apply(context: TxContext, payload: StakePayload): void {
    context.stakeFromSender(payload.amount);
    const total = context.getAccount(context.sender).stake;
    const minimum = context.params.minValidatorStake;
    if (total < minimum) {
      throw new LedgerError("STAKE_TOO_LOW", `stake ${total} < minimum ${minimum}`, {
        stake: total,
        minimum,
      });
    }
    context.putValidator({
      publicKey: context.senderPublicKey,
      stake: total,
      name: payload.name,
      peerId: payload.peerId,
      multiaddrs: payload.multiaddrs,
    });
  },
};

const unstake: KindHandler<UnstakePayload> = {
  decode: decodeUnstakePayload,
  apply(context: TxContext, payload: UnstakePayload): void {
    const entry = context.getValidator(context.sender);
    if (entry === null) throw new LedgerError("NOT_A_VALIDATOR", "sender is not a validator", {});
    context.unstakeToSender(payload.amount);
    const remaining = context.getAccount(context.sender).stake;
    const minimum = context.params.minValidatorStake;
    if (remaining === 0n) {
      context.deleteValidator(context.sender);
    } else if (remaining < minimum) {
      throw new LedgerError("STAKE_TOO_LOW", `remaining stake ${remaining} < minimum ${minimum}`, {
        stake: remaining,
        minimum,
      });
    } else {
      context.putValidator({ ...entry, stake: remaining });
    }
  },
};

export const coreModule: LedgerModule = {
  name: "core",
  bucket: null,
  kinds: {
    [CoreKind.Transfer]: transfer,
    [CoreKind.Stake]: stake,
    [CoreKind.Unstake]: unstake,
  },
};
