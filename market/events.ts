import { DIGEST_BYTES, FieldReader, unpackValue } from "../spec/index.ts";

/**
 * Names of the market module's receipt events. Each event's data is a
 * msgpack array: pod.created [podId, creator, name]; pod.joined [podId,
 * member, peerId, role]; pod.left [podId, member]; pod.invited [podId,
 * count]; pod.role-set [podId, member, role]; pod.invite-revoked [podId,
 * inviteId]; provider.registered [address, peerId, bond];
 * provider.deregistered [address, unbondingUntilCommit];
 * provider.withdrawn [address, bond].
 */
export const MarketEventName = {
  PodCreated: "market.pod.created",
  PodJoined: "market.pod.joined",
  PodLeft: "market.pod.left",
  PodInvited: "market.pod.invited",
  PodRoleSet: "market.pod.role-set",
  PodInviteRevoked: "market.pod.invite-revoked",
  ProviderRegistered: "market.provider.registered",
  ProviderDeregistered: "market.provider.deregistered",
  ProviderWithdrawn: "market.provider.withdrawn",
} as const;

/** The pod id a pod.created event names (CodecError when the data is not that event's). */
export function podIdOfCreatedEvent(data: Uint8Array): Uint8Array {
  const reader = FieldReader.of("PodCreatedEvent", unpackValue("PodCreatedEvent", data, 256), 3);
  return reader.bytes("podId", { exact: DIGEST_BYTES });
}
