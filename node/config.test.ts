import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { ConfigError, resolveConfig } from "./config.ts";

const dir = mkdtempSync(join(tmpdir(), "hs-config-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("config", () => {
  it("has documented defaults: RPC on loopback only", () => {
    const config = resolveConfig({ env: {} });
    assert.equal(config.rpcHost, "127.0.0.1");
    assert.equal(config.leaderTimeoutMs, 200);
    assert.equal(config.validator, false);
    assert.equal(config.genesisFile, join(config.dataDir, "genesis.json"));
  });

  it("reads stateSync from a file, HYPERSPACE_STATE_SYNC or a flag; off by default", () => {
    assert.equal(resolveConfig({ env: {} }).stateSync, false);
    const file = join(dir, "state-sync.json");
    writeFileSync(file, JSON.stringify({ stateSync: true }));
    assert.equal(resolveConfig({ file, env: {} }).stateSync, true);
    assert.equal(resolveConfig({ file, env: { HYPERSPACE_STATE_SYNC: "false" } }).stateSync, false);
    assert.equal(resolveConfig({ env: {}, flags: { stateSync: true } }).stateSync, true);
    assert.throws(() => resolveConfig({ env: { HYPERSPACE_STATE_SYNC: "maybe" } }), ConfigError);
  });

  it("takes flags over environment over file over defaults", () => {
    fc.assert(
      fc.property(
        fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
        fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
        fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
        (filePort, envPort, flagPort) => {
          const file = join(dir, "config.json");
          writeFileSync(file, JSON.stringify(filePort === undefined ? {} : { rpcPort: filePort }));
          const config = resolveConfig({
            file,
            env: envPort === undefined ? {} : { HYPERSPACE_RPC_PORT: String(envPort) },
            flags: { rpcPort: flagPort },
          });
          assert.equal(config.rpcPort, flagPort ?? envPort ?? filePort ?? 8545);
        },
      ),
      { numRuns: 50 },
    );
  });

  it("resolves relative paths in a file against the file's directory", () => {
    const file = join(dir, "rel.json");
    writeFileSync(file, JSON.stringify({ dataDir: "node-a", bootstrap: ["/ip4/127.0.0.1/tcp/1/p2p/x"] }));
    const config = resolveConfig({ file, env: {} });
    assert.equal(config.dataDir, join(dir, "node-a"));
    assert.deepEqual(config.bootstrap, ["/ip4/127.0.0.1/tcp/1/p2p/x"]);
  });

  it("reads the consensus pacing from the environment", () => {
    const config = resolveConfig({
      env: { HYPERSPACE_MIN_ROUND_DELAY_MS: "80", HYPERSPACE_LEADER_TIMEOUT_MS: "300" },
    });
    assert.equal(config.minRoundDelayMs, 80);
    assert.equal(config.leaderTimeoutMs, 300);
    assert.equal(resolveConfig({ env: {} }).minRoundDelayMs, 50);
    assert.throws(() => resolveConfig({ env: { HYPERSPACE_MIN_ROUND_DELAY_MS: "-1" } }), ConfigError);
  });

  it("refuses unknown settings, bad values and unreadable files with typed errors", () => {
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ rpcPrt: 1 }));
    assert.throws(() => resolveConfig({ file: bad, env: {} }), ConfigError);
    assert.throws(() => resolveConfig({ env: { HYPERSPACE_RPC_PORT: "abc" } }), ConfigError);
    assert.throws(() => resolveConfig({ env: { HYPERSPACE_LOG_LEVEL: "loud" } }), ConfigError);
    assert.throws(() => resolveConfig({ file: join(dir, "missing.json"), env: {} }), ConfigError);
  });
});
