import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { equalBytes, hmacSha256, sha256, toHex } from "../src/util/sha256.ts";

Deno.test("sha256() matches the FIPS 180-4 examples", () => {
  assert.equal(
    toHex(sha256("abc")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(
    toHex(sha256("")),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  assert.equal(
    toHex(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
});

Deno.test("sha256() and hmacSha256() agree with node:crypto at every length around a block", async (t) => {
  const rand = (n: number) => crypto.getRandomValues(new Uint8Array(n));
  await t.step("digests of 0 to 300 bytes, and 1 MiB", () => {
    for (const n of [...Array(301).keys(), 1 << 20]) {
      const data = n > 65536 ? new Uint8Array(n).fill(7) : rand(n);
      assert.equal(toHex(sha256(data)), createHash("sha256").update(data).digest("hex"), `${n}`);
    }
  });
  await t.step("MACs with short, block-sized and long keys", () => {
    for (const keyLength of [0, 1, 32, 63, 64, 65, 200]) {
      const key = rand(keyLength);
      for (const n of [0, 1, 55, 56, 64, 119, 1000]) {
        const data = rand(n);
        assert.equal(
          toHex(hmacSha256(key, data)),
          createHmac("sha256", key).update(data).digest("hex"),
          `key ${keyLength}, data ${n}`,
        );
      }
    }
  });
  await t.step("strings are hashed as UTF-8", () => {
    const text = "Grüße, 東京 🚀";
    assert.equal(toHex(sha256(text)), createHash("sha256").update(text, "utf8").digest("hex"));
    assert.equal(
      toHex(hmacSha256("clé", text)),
      createHmac("sha256", "clé").update(text).digest("hex"),
    );
  });
});

Deno.test("equalBytes() compares content and length", () => {
  assert.equal(equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2])), true);
  assert.equal(equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 3])), false);
  assert.equal(equalBytes(new Uint8Array([1]), new Uint8Array([1, 0])), false);
});
