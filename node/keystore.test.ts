import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { generateKeyPair } from "../spec/index.ts";
import { KeystoreError, readKeystore, writeKeystore } from "./keystore.ts";

/** A low scrypt cost keeps the test fast; the format and checks are the same. */
const TEST_N = 2 ** 10;
const dir = mkdtempSync(join(tmpdir(), "hs-keystore-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("keystore", () => {
  it("round-trips a key with the right passphrase and stores it with mode 0600", async () => {
    const keys = generateKeyPair();
    const path = join(dir, "a.json");
    await writeKeystore(path, keys, "correct horse", TEST_N);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.ok(!readFileSync(path, "utf8").includes(Buffer.from(keys.secretKey).toString("hex")));
    const read = await readKeystore(path, "correct horse");
    assert.deepEqual(read.secretKey, keys.secretKey);
  });

  it("refuses a wrong passphrase, a missing one and a tampered file with typed errors", async () => {
    const path = join(dir, "b.json");
    await writeKeystore(path, generateKeyPair(), "pw", TEST_N);
    await assert.rejects(
      readKeystore(path, "wrong"),
      (e: unknown) => e instanceof KeystoreError && e.code === "WRONG_PASSPHRASE",
    );
    await assert.rejects(
      readKeystore(path, undefined),
      (e: unknown) => e instanceof KeystoreError && e.code === "NO_PASSPHRASE",
    );
    const file = JSON.parse(readFileSync(path, "utf8"));
    file.publicKey = Buffer.from(generateKeyPair().publicKey).toString("hex");
    writeFileSync(path, JSON.stringify(file));
    await assert.rejects(
      readKeystore(path, "pw"),
      (e: unknown) => e instanceof KeystoreError && e.code === "WRONG_PASSPHRASE",
    );
    writeFileSync(path, "{not json");
    await assert.rejects(
      readKeystore(path, "pw"),
      (e: unknown) => e instanceof KeystoreError && e.code === "BAD_FILE",
    );
  });
});
