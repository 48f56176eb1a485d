/**
 * The `hyperspace` command line. Each command group lives in
 * node/commands/<name>.ts and exports `register(program)`.
 */
import { Command, CommanderError } from "commander";
import { HyperspaceError } from "../spec/index.ts";
import { register as registerBench } from "./commands/bench.ts";
import { register as registerChain } from "./commands/chain.ts";
import { register as registerChannel } from "./commands/channel.ts";
import { register as registerConformance } from "./commands/conformance.ts";
import { register as registerDevnet } from "./commands/devnet.ts";
import { register as registerGenesis } from "./commands/genesis.ts";
import { register as registerInfer } from "./commands/infer.ts";
import { register as registerKeys } from "./commands/keys.ts";
import { register as registerLedger } from "./commands/ledger.ts";
import { register as registerModel } from "./commands/model.ts";
import { register as registerNode } from "./commands/node.ts";
import { register as registerPod } from "./commands/pod.ts";
import { register as registerProvider } from "./commands/provider.ts";
import { register as registerSim } from "./commands/sim.ts";
import { UsageError } from "./output.ts";

export function buildProgram(): Command {
  const program = new Command("hyperspace")
    .description("hyperspace: a full node for a permissionless compute network")
    .version("0.1.0")
    .showHelpAfterError()
    .exitOverride();
  registerNode(program);
  registerSim(program);
  registerDevnet(program);
  registerChain(program);
  registerChannel(program);
  registerBench(program);
  registerConformance(program);
  registerKeys(program);
  registerGenesis(program);
  registerLedger(program);
  registerModel(program);
  registerProvider(program);
  registerPod(program);
  registerInfer(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof UsageError || error instanceof HyperspaceError) {
      process.stderr.write(`error: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

process.exitCode = await main(process.argv.slice(2));
