/**
 * Consensus Core throughput in isolation: one authority verifies, accepts
 * and commits a pre-built DAG of n = 10 authorities whose blocks carry 1,000
 * transactions each (real ed25519 signatures, blocks copied first as if
 * just decoded). Printed beside its bound measured in the same run: the rate
 * at which the same blocks can merely be hashed (the block digest) and
 * signature-checked, which the core must do for every block anyway.
 * Figures are medians of interleaved rounds (the machine is shared).
 */
import { measureCoreCost } from "../consensus/index.ts";

const VALIDATORS = 10;
const TRANSACTIONS_PER_BLOCK = 1_000;
/** 100 bytes is a small transfer (sender, nonce, amount, fee, signature) of the ledger's kinds. */
const TRANSACTION_BYTES = 100;
/** 30 rounds of 10 blocks: about 300 MB of block bytes hashed per round, a few seconds in all. */
const ROUNDS = 30;
const REPETITIONS = 5;

export async function bench(): Promise<void> {
  const cost = measureCoreCost(
    {
      validators: VALIDATORS,
      transactionsPerBlock: TRANSACTIONS_PER_BLOCK,
      transactionBytes: TRANSACTION_BYTES,
      rounds: ROUNDS,
    },
    REPETITIONS,
  );
  const ratio = cost.blocksPerSecond / cost.boundBlocksPerSecond;
  console.log(
    `consensus core blocks/s = ${cost.blocksPerSecond.toFixed(0)} accepted (${ratio.toFixed(2)} x bound = ` +
      `${cost.boundBlocksPerSecond.toFixed(0)} blocks/s digest+ed25519 verify), n = ${VALIDATORS}, ${TRANSACTIONS_PER_BLOCK} tx/block`,
  );
  console.log(
    `consensus core committed blocks/s = ${cost.committedBlocksPerSecond.toFixed(0)} ` +
      `(${cost.commits} commits holding ${cost.committedBlocks} of ${cost.blocks} blocks; ` +
      `${(cost.committedBlocksPerSecond / cost.boundBlocksPerSecond).toFixed(2)} x bound)`,
  );
  console.log(`consensus core committed tx/s = ${cost.transactionsPerSecond.toFixed(0)}`);
  console.log(
    `consensus core ms per block = ${cost.msPerBlock.toFixed(3)} (the simulator's WAN CPU cost per received block)`,
  );
}
