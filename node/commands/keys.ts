import type { Command } from "commander";
import { addressFromPublicKey, formatAddress, toHex } from "../../spec/index.ts";
import { createKeyFile, readPublicKeyFile } from "../keyfile.ts";
import { printJson } from "../output.ts";

/** `hyperspace keys new|show`: plain ed25519 key files (node/keyfile.ts). */
export function register(program: Command): void {
  const keys = program.command("keys").description("create and inspect key files");

  keys
    .command("new")
    .description("generate an ed25519 key and write it to a key file (mode 0600); prints its address")
    .requiredOption("--out <file>", "key file to write")
    .option("--force", "replace an existing file")
    .option("--json", "print one JSON object: address, publicKey, file")
    .action((options: { out: string; force?: boolean; json?: boolean }) => {
      const pair = createKeyFile(options.out, { force: options.force ?? false });
      const address = formatAddress(addressFromPublicKey(pair.publicKey));
      if (options.json) printJson({ address, publicKey: toHex(pair.publicKey), file: options.out });
      else process.stdout.write(`${address}\n`);
    });

  keys
    .command("show")
    .description("print the address and public key of a key file or keystore (never the secret)")
    .argument("<file>", "key file or encrypted keystore")
    .option("--json", "print one JSON object: address, publicKey, encrypted")
    .action((file: string, options: { json?: boolean }) => {
      const info = readPublicKeyFile(file);
      const address = formatAddress(info.address);
      if (options.json) printJson({ address, publicKey: toHex(info.publicKey), encrypted: info.encrypted });
      else process.stdout.write(`address    ${address}\npublic key ${toHex(info.publicKey)}\n`);
    });
}
