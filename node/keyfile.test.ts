import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import fc from "fast-check";
import { addressFromPublicKey, formatAddress, generateKeyPair, toHex } from "../spec/index.ts";
import { runSeed } from "../spec/testing.ts";
import { createKeyFile, KeyFileError, readKeyFile, readPublicKeyFile, writeKeyFile } from "./keyfile.ts";

const seed = runSeed("keyfile.test");
const dir = mkdtempSync(join(tmpdir(), "hyperspace-keyfile-"));
after(() => rmSync(dir, { recursive: true, force: true }));

it("writes 0600 files that read back to the same keys, and refuses to overwrite without force", () => {
  const path = join(dir, "a.json");
  const keys = createKeyFile(path);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(readKeyFile(path), keys);
  const json = JSON.parse(readFileSync(path, "utf8"));
  assert.equal(json.address, formatAddress(addressFromPublicKey(keys.publicKey)));
  assert.throws(
    () => createKeyFile(path),
    (e) => e instanceof KeyFileError && e.code === "EXISTS",
  );
  const replaced = createKeyFile(path, { force: true });
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(readKeyFile(path), replaced);
});

it("round-trips any seed and rejects files whose halves disagree", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      (a, b) => {
        fc.pre(toHex(a) !== toHex(b));
        const path = join(dir, "p.json");
        const keys = generateKeyPair(a);
        writeKeyFile(path, keys, { force: true });
        assert.deepEqual(readKeyFile(path), keys);
        assert.equal(toHex(readPublicKeyFile(path).publicKey), toHex(keys.publicKey));
        const json = JSON.parse(readFileSync(path, "utf8"));
        writeFileSync(path, JSON.stringify({ ...json, publicKey: toHex(generateKeyPair(b).publicKey) }));
        assert.throws(
          () => readKeyFile(path),
          (e) => e instanceof KeyFileError && e.code === "KEY_MISMATCH",
        );
      },
    ),
    { seed, numRuns: 20 },
  );
});

it("reports unreadable and malformed files as BAD_FILE, and reads the public half of a keystore", () => {
  const bad = join(dir, "bad.json");
  for (const text of ["not json", "[]", '{"secretKey":"zz"}', '{"secretKey":"00"}']) {
    writeFileSync(bad, text);
    assert.throws(
      () => readKeyFile(bad),
      (e) => e instanceof KeyFileError && e.code === "BAD_FILE",
    );
  }
  assert.throws(
    () => readKeyFile(join(dir, "missing.json")),
    (e) => e instanceof KeyFileError && e.code === "BAD_FILE",
  );
  const keys = generateKeyPair();
  const keystore = join(dir, "ks.json");
  writeFileSync(keystore, JSON.stringify({ version: 1, publicKey: toHex(keys.publicKey), crypto: {} }));
  const info = readPublicKeyFile(keystore);
  assert.equal(info.encrypted, true);
  assert.equal(toHex(info.address), toHex(addressFromPublicKey(keys.publicKey)));
  assert.throws(
    () => readKeyFile(keystore),
    (e) => e instanceof KeyFileError && e.code === "BAD_FILE",
  );
});
