import {
  ADDRESS_BYTES,
  type Codec,
  CodecError,
  DIGEST_BYTES,
  decodeWith,
  encodeWith,
  FieldReader,
} from "../spec/index.ts";

/**
 * The events the channels module puts in receipts: what a watcher, a wallet
 * or the SDK learns from executed commits without reading state. Each event
 * is (name, encoded data); the data codecs are strict like every other.
 */

export const ChannelEventName = {
  Opened: "channel.opened",
  ToppedUp: "channel.topped-up",
  CloseStarted: "channel.close-started",
  Challenged: "channel.challenged",
  Settled: "channel.settled",
} as const;

/** How a channel's funds were paid out. */
export const SettlementKind = {
  /** The payee closed with a voucher. */
  PayeeClose: 0,
  /** Settled after a payer's close and its challenge period. */
  AfterChallengePeriod: 1,
  /** Both parties signed. */
  Cooperative: 2,
} as const;

export type SettlementKindValue = (typeof SettlementKind)[keyof typeof SettlementKind];

export type ChannelEvent =
  | {
      readonly name: typeof ChannelEventName.Opened;
      readonly channelId: Uint8Array;
      readonly payer: Uint8Array;
      readonly payee: Uint8Array;
      readonly deposit: bigint;
      readonly challengePeriod: number;
    }
  | {
      readonly name: typeof ChannelEventName.ToppedUp;
      readonly channelId: Uint8Array;
      readonly amount: bigint;
      /** The deposit after the top-up. */
      readonly deposit: bigint;
      /** Whether a pending unilateral close was cancelled. */
      readonly closeCancelled: boolean;
    }
  | {
      readonly name: typeof ChannelEventName.CloseStarted;
      readonly channelId: Uint8Array;
      readonly amount: bigint;
      readonly sequence: number;
      readonly deadlineCommit: number;
    }
  | {
      readonly name: typeof ChannelEventName.Challenged;
      readonly channelId: Uint8Array;
      readonly amount: bigint;
      readonly sequence: number;
    }
  | {
      readonly name: typeof ChannelEventName.Settled;
      readonly channelId: Uint8Array;
      readonly payeeAmount: bigint;
      readonly payerAmount: bigint;
      readonly how: SettlementKindValue;
    };

type EventOf<N extends ChannelEvent["name"]> = Extract<ChannelEvent, { name: N }>;
type EventData<N extends ChannelEvent["name"]> = Omit<EventOf<N>, "name">;

const id = (reader: FieldReader) => reader.bytes("channelId", { exact: DIGEST_BYTES });

const OpenedCodec: Codec<EventData<"channel.opened">> = {
  type: "ChannelOpened",
  maxBytes: 128,
  toValue: (e) => [e.channelId, e.payer, e.payee, e.deposit, e.challengePeriod],
  fromValue(value, type = "ChannelOpened") {
    const reader = FieldReader.of(type, value, 5);
    return {
      channelId: id(reader),
      payer: reader.bytes("payer", { exact: ADDRESS_BYTES }),
      payee: reader.bytes("payee", { exact: ADDRESS_BYTES }),
      deposit: reader.amount("deposit"),
      challengePeriod: reader.integer("challengePeriod"),
    };
  },
};

const ToppedUpCodec: Codec<EventData<"channel.topped-up">> = {
  type: "ChannelToppedUp",
  maxBytes: 64,
  toValue: (e) => [e.channelId, e.amount, e.deposit, e.closeCancelled],
  fromValue(value, type = "ChannelToppedUp") {
    const reader = FieldReader.of(type, value, 4);
    return {
      channelId: id(reader),
      amount: reader.amount("amount"),
      deposit: reader.amount("deposit"),
      closeCancelled: reader.boolean("closeCancelled"),
    };
  },
};

const CloseStartedCodec: Codec<EventData<"channel.close-started">> = {
  type: "ChannelCloseStarted",
  maxBytes: 80,
  toValue: (e) => [e.channelId, e.amount, e.sequence, e.deadlineCommit],
  fromValue(value, type = "ChannelCloseStarted") {
    const reader = FieldReader.of(type, value, 4);
    return {
      channelId: id(reader),
      amount: reader.amount("amount"),
      sequence: reader.integer("sequence"),
      deadlineCommit: reader.integer("deadlineCommit"),
    };
  },
};

const ChallengedCodec: Codec<EventData<"channel.challenged">> = {
  type: "ChannelChallenged",
  maxBytes: 64,
  toValue: (e) => [e.channelId, e.amount, e.sequence],
  fromValue(value, type = "ChannelChallenged") {
    const reader = FieldReader.of(type, value, 3);
    return { channelId: id(reader), amount: reader.amount("amount"), sequence: reader.integer("sequence") };
  },
};

const SettledCodec: Codec<EventData<"channel.settled">> = {
  type: "ChannelSettled",
  maxBytes: 64,
  toValue: (e) => [e.channelId, e.payeeAmount, e.payerAmount, e.how],
  fromValue(value, type = "ChannelSettled") {
    const reader = FieldReader.of(type, value, 4);
    return {
      channelId: id(reader),
      payeeAmount: reader.amount("payeeAmount"),
      payerAmount: reader.amount("payerAmount"),
      how: reader.integer("how", SettlementKind.Cooperative) as SettlementKindValue,
    };
  },
};

/** The data codec of each event name (exported for the codec property tests). */
export const CHANNEL_EVENT_CODECS = {
  [ChannelEventName.Opened]: OpenedCodec,
  [ChannelEventName.ToppedUp]: ToppedUpCodec,
  [ChannelEventName.CloseStarted]: CloseStartedCodec,
  [ChannelEventName.Challenged]: ChallengedCodec,
  [ChannelEventName.Settled]: SettledCodec,
} as const;

const EVENT_NAMES = new Set<string>(Object.values(ChannelEventName));

export function isChannelEventName(name: string): name is ChannelEvent["name"] {
  return EVENT_NAMES.has(name);
}

/** The (name, data) pair of an event, as the module emits it. */
export function encodeChannelEvent(event: ChannelEvent): { name: string; data: Uint8Array } {
  const { name, ...data } = event;
  const codec = CHANNEL_EVENT_CODECS[name] as Codec<typeof data>;
  return { name, data: encodeWith(codec, data) };
}

/** Decodes one receipt event of the channels module; throws CodecError for another name or bad data. */
export function decodeChannelEvent(name: string, data: Uint8Array): ChannelEvent {
  if (!isChannelEventName(name)) {
    throw new CodecError("WRONG_TYPE", `${name} is not a channel event`, { type: "ChannelEvent" });
  }
  const codec = CHANNEL_EVENT_CODECS[name] as Codec<Omit<ChannelEvent, "name">>;
  return { name, ...decodeWith(codec, data) } as ChannelEvent;
}

/** The channel events of a list of receipts (only successful transactions carry events), in order. */
export function channelEventsOf(
  receipts: readonly {
    readonly success: boolean;
    readonly events: readonly { name: string; data: Uint8Array }[];
  }[],
): ChannelEvent[] {
  const out: ChannelEvent[] = [];
  for (const receipt of receipts) {
    if (!receipt.success) continue;
    for (const event of receipt.events) {
      if (isChannelEventName(event.name)) out.push(decodeChannelEvent(event.name, event.data));
    }
  }
  return out;
}
