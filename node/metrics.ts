import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { NetMetrics, ValidationAction } from "../net/index.ts";

/**
 * Every metric the node exports, declared once in one typed registry. Parts
 * receive `Metrics | null`. Names end in their unit; times are in seconds.
 */
export class Metrics implements NetMetrics {
  readonly registry = new Registry();

  readonly round = new Gauge({
    name: "hyperspace_consensus_round",
    help: "Highest DAG round seen",
    registers: [this.registry],
  });
  readonly commits = new Counter({
    name: "hyperspace_commits_total",
    help: "Commits executed",
    registers: [this.registry],
  });
  readonly commitIndex = new Gauge({
    name: "hyperspace_commit_index",
    help: "Last executed commit index",
    registers: [this.registry],
  });
  readonly transactions = new Counter({
    name: "hyperspace_transactions_executed_total",
    help: "Transactions executed, by receipt status",
    labelNames: ["status"],
    registers: [this.registry],
  });
  readonly commitLatency = new Histogram({
    name: "hyperspace_commit_latency_seconds",
    help: "Time from a leader block's timestamp to its commit on this node",
    buckets: [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10],
    registers: [this.registry],
  });
  readonly mempoolSize = new Gauge({
    name: "hyperspace_mempool_transactions",
    help: "Transactions in the mempool",
    registers: [this.registry],
  });
  readonly peers = new Gauge({
    name: "hyperspace_peers",
    help: "Connected libp2p peers",
    registers: [this.registry],
  });
  readonly dropped = new Counter({
    name: "hyperspace_dropped_messages_total",
    help: "Messages dropped because a bounded queue was full",
    labelNames: ["queue"],
    registers: [this.registry],
  });
  readonly validation = new Counter({
    name: "hyperspace_validation_results_total",
    help: "Gossip and stream validation outcomes",
    labelNames: ["kind", "action", "reason"],
    registers: [this.registry],
  });
  readonly rpcRequests = new Counter({
    name: "hyperspace_rpc_requests_total",
    help: "JSON-RPC requests by method and outcome",
    labelNames: ["method", "outcome"],
    registers: [this.registry],
  });

  countValidation(kind: string, action: ValidationAction, reason: string): void {
    this.validation.inc({ kind, action, reason });
  }

  countDropped(queue: string): void {
    this.dropped.inc({ queue });
  }

  setPeers(count: number): void {
    this.peers.set(count);
  }
}
