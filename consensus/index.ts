/**
 * The consensus layer's public API: what node/ needs to run an authority and
 * what tools need to check and simulate the protocol.
 */
export {
  Authority,
  type AuthorityArgs,
  type AuthorityOptions,
  type ConsensusLogger,
  DEFAULT_AUTHORITY_OPTIONS,
} from "./authority.ts";
export { BaseCommitter } from "./base_committer.ts";
export { BlockManager, type MissingBlock } from "./block_manager.ts";
export { formatRef, formatSlot, refKey, type Slot } from "./block_ref.ts";
export { BlockVerifier, TIMESTAMP_FORWARD_DRIFT_MAX_MS } from "./block_verifier.ts";
export { type CertifiedCommit, CommitSyncer, type CommitSyncOptions } from "./commit_syncer.ts";
export { authorityName, Committee, type CommitteeMember } from "./committee.ts";
export { type CommitterVector, checkCommitterVector } from "./conformance.ts";
export {
  Core,
  type CoreArgs,
  type CoreOptions,
  type CoreOutput,
  DEFAULT_CORE_OPTIONS,
  type RecoveredState,
} from "./core.ts";
export { DagState, type EquivocationEvidence } from "./dag_state.ts";
export { BlockError, type BlockErrorCode, DagParseError, SyncError } from "./errors.ts";
export { genesisBlocks } from "./genesis.ts";
export type * from "./interface.ts";
export { LeaderSchedule, type LeaderScheduleKind, LeaderSwapTable } from "./leader_schedule.ts";
export { buildSwapTable, ReputationScores } from "./leader_scoring.ts";
export type { DecidedLeader, LeaderStatus } from "./leader_status.ts";
export { type CommitChainTip, chainTipOf, GENESIS_CHAIN_TIP, Linearizer } from "./linearizer.ts";
export { InMemoryConsensusStore } from "./memory_store.ts";
export { loadRecoveredState } from "./recovery.ts";
export { type BlockSigner, ed25519Signer, ed25519Verifier, type SignatureVerifier } from "./signature.ts";
export * from "./sim/index.ts";
export { type FetchRequest, Synchronizer, type SynchronizerOptions } from "./synchronizer.ts";
export { systemClock, systemTimers } from "./system_time.ts";
export { parseDag, type TestDag } from "./test_dag.ts";
export { ThresholdClock } from "./threshold_clock.ts";
export { UniversalCommitter, type UniversalCommitterOptions } from "./universal_committer.ts";
export { VerifiedBlock } from "./verified_block.ts";
