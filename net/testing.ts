import { generateKeyPair } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import { NetworkHost } from "./host.ts";

/** For tests: a host on an ephemeral loopback port, with a fresh identity unless one is given. */
export async function loopbackHost(
  chainId: string,
  options: { bootstrap?: string[]; privateKey?: PrivateKey } = {},
): Promise<NetworkHost> {
  return NetworkHost.create({
    privateKey: options.privateKey ?? (await generateKeyPair("Ed25519")),
    chainId,
    listen: ["/ip4/127.0.0.1/tcp/0"],
    bootstrap: options.bootstrap ?? [],
  });
}
